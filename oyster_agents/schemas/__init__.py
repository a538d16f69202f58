"""Pydantic models for every structured output and for the run trace."""

from oyster_agents.schemas.assessment import (
    CategoryChoice,
    InteractionForm,
    RiskAssessment,
    RiskLevel,
    UserType,
    UserTypePosterior,
)
from oyster_agents.schemas.chain import Draft, ReasoningChain
from oyster_agents.schemas.critique import (
    RUBRIC_ITEMS,
    RubricScores,
    SafetyJudgment,
    SafetyVerdict,
    SatisfactionJudgment,
    constructive_score,
)
from oyster_agents.schemas.distill import ReasoningSource, WrittenReasoning
from oyster_agents.schemas.revision import ChainRevision
from oyster_agents.schemas.simulation import NextAction, ReactionProposal, SimulatedReaction
from oyster_agents.schemas.strategy import CandidateStrategy, StrategyKind, StrategyProposal
from oyster_agents.schemas.trace import (
    SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    CallRecord,
    ChatTurn,
    Fallback,
    Iterate,
    IterateGame,
    RoleUsage,
    RunTrace,
    ScoredCandidate,
    Usage,
)

__all__ = [
    "SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "CallRecord",
    "CandidateStrategy",
    "CategoryChoice",
    "ChainRevision",
    "ChatTurn",
    "Draft",
    "Fallback",
    "InteractionForm",
    "Iterate",
    "IterateGame",
    "NextAction",
    "RUBRIC_ITEMS",
    "ReactionProposal",
    "ReasoningChain",
    "ReasoningSource",
    "RiskAssessment",
    "RiskLevel",
    "RoleUsage",
    "RubricScores",
    "RunTrace",
    "SafetyJudgment",
    "SafetyVerdict",
    "SatisfactionJudgment",
    "ScoredCandidate",
    "SimulatedReaction",
    "StrategyKind",
    "StrategyProposal",
    "Usage",
    "UserType",
    "UserTypePosterior",
    "WrittenReasoning",
    "constructive_score",
]
