"""The graph state: only what nodes share. Lists that parallel branches write use ``operator.add``."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from typing_extensions import NotRequired, TypedDict

from oyster_agents.schemas import (
    CallRecord,
    CandidateStrategy,
    ChatTurn,
    Draft,
    Fallback,
    Iterate,
    ReasoningChain,
    RiskAssessment,
    SafetyJudgment,
    SatisfactionJudgment,
    ScoredCandidate,
    SimulatedReaction,
)


class OysterInput(TypedDict):
    """What a caller passes in. ``history`` holds prior turns (dicts with role and content)."""

    query: str
    history: NotRequired[list[ChatTurn | dict[str, str]]]
    profile: NotRequired[str | None]
    id: NotRequired[str | None]


class OysterOutput(TypedDict):
    """What a run returns: the final answer and the full trace (a ``RunTrace`` as a dict)."""

    answer: str
    trace: dict[str, Any]


class OysterState(TypedDict, total=False):
    """Everything the nodes share during one run."""

    query: str
    history: list[ChatTurn]
    profile: str | None
    id: str | None
    started_at: float
    assessment: RiskAssessment
    candidates: Annotated[list[CandidateStrategy], operator.add]
    reactions: Annotated[list[SimulatedReaction], operator.add]
    scored: list[ScoredCandidate]
    chosen: int
    boundary_feasible: bool
    chain: ReasoningChain
    draft: Draft
    safety: SafetyJudgment
    satisfaction: SatisfactionJudgment
    iterates: Annotated[list[Iterate], operator.add]
    revision_note: str
    done: bool
    usage: Annotated[list[CallRecord], operator.add]
    fallbacks: Annotated[list[Fallback], operator.add]
    answer: str
    trace: dict[str, Any]


class StrategyTask(TypedDict):
    """The payload of one strategist branch (sent with ``Send``)."""

    query: str
    history: list[ChatTurn]
    assessment: RiskAssessment
    index: int
    kind: str


class SimulationTask(TypedDict):
    """The payload of one user-simulator branch: one candidate, one user type."""

    query: str
    candidate: CandidateStrategy
    user_type: str
