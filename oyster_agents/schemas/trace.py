"""The run trace: everything one query produced. ``distill/`` and ``eval/`` read only this."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from oyster_agents.schemas.assessment import RiskAssessment
from oyster_agents.schemas.chain import ReasoningChain
from oyster_agents.schemas.critique import SafetyJudgment, SatisfactionJudgment
from oyster_agents.schemas.simulation import SimulatedReaction
from oyster_agents.schemas.strategy import CandidateStrategy

SCHEMA_VERSION = "1.0"


class ChatTurn(BaseModel):
    """One prior message of a multi-turn conversation."""

    role: str = Field(pattern="^(user|assistant|system)$")
    content: str


class CallRecord(BaseModel):
    """One LLM call: who made it, what it cost."""

    role: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    attempts: int = 1


class RoleUsage(BaseModel):
    """Aggregated calls, tokens and seconds for one role."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0


class Usage(BaseModel):
    """Per-role and total usage of one run."""

    per_role: dict[str, RoleUsage] = Field(default_factory=dict)
    total: RoleUsage = Field(default_factory=RoleUsage)
    wall_seconds: float = 0.0

    @classmethod
    def from_calls(cls, calls: list[CallRecord], wall_seconds: float = 0.0) -> "Usage":
        """Aggregate call records."""
        usage = cls(wall_seconds=wall_seconds)
        for call in calls:
            for bucket in (usage.per_role.setdefault(call.role, RoleUsage()), usage.total):
                bucket.calls += 1
                bucket.input_tokens += call.input_tokens
                bucket.output_tokens += call.output_tokens
                bucket.seconds += call.seconds
        return usage


class Fallback(BaseModel):
    """A repair or fallback that happened, so no silent degradation goes unseen."""

    role: str
    kind: str = Field(description="e.g. 'repaired_json', 'reasked', 'fallback_value', 'trust_region'.")
    detail: str = ""


class ScoredCandidate(BaseModel):
    """A candidate with its simulated reactions and the solver's numbers."""

    candidate: CandidateStrategy
    reactions: list[SimulatedReaction]
    utility_by_type: dict[str, float]
    risk_by_type: dict[str, float]
    expected_utility: float
    feasible: bool


class Iterate(BaseModel):
    """One Lingo-BP iterate: chain, answer, both judgments, scores."""

    step: int
    chain: ReasoningChain
    reasoning: str = ""
    answer: str
    safety: SafetyJudgment
    satisfaction: SatisfactionJudgment
    safety_score: float
    satisfaction_score: float
    constructive_score: float
    revision_note: str = ""


class RunTrace(BaseModel):
    """The JSON record of one run (one line of a traces JSONL file)."""

    model_config = ConfigDict(extra="allow")

    schema_version: str = SCHEMA_VERSION
    trace_id: str | None = None
    id: str | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    query: str
    history: list[ChatTurn] = Field(default_factory=list)
    profile: str | None = None
    assessment: RiskAssessment
    candidates: list[ScoredCandidate]
    chosen: int = Field(description="Index of the chosen candidate (the pearl point).")
    boundary_feasible: bool = True
    iterates: list[Iterate]
    best_iterate: int
    answer: str
    usage: Usage
    fallbacks: list[Fallback] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)

    @property
    def best(self) -> Iterate:
        """The best iterate."""
        return self.iterates[self.best_iterate]
