"""The graph state: only what nodes share. Lists that parallel branches write use ``operator.add``."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
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


class PrecomputedAssessment(TypedDict):
    """A risk assessment made before the run (the guard's, which routed the turn with it): the
    ``assess_risk`` node returns it instead of asking its model again. Models or their JSON dicts."""

    assessment: RiskAssessment | dict[str, Any]
    usage: NotRequired[list[CallRecord | dict[str, Any]]]  # the calls it took, counted in the run's usage
    fallbacks: NotRequired[list[Fallback | dict[str, Any]]]


class OysterInput(TypedDict):
    """What a caller passes in. ``history`` holds prior turns (dicts with role and content).

    With a checkpointer and a ``thread_id``, leave ``history`` out after the first turn: the
    thread's own history (which each run extends) is used. Passing it replaces that history.
    Chat UIs (LangGraph Studio) may send ``messages`` instead of ``query``: when the latest
    message is a user message, it is the query. ``precomputed_assessment`` skips the risk
    assessor's model call (see :class:`PrecomputedAssessment`).
    """

    query: NotRequired[str]
    messages: NotRequired[list[AnyMessage]]
    history: NotRequired[list[ChatTurn | dict[str, str]]]
    profile: NotRequired[str | None]
    id: NotRequired[str | None]
    precomputed_assessment: NotRequired[PrecomputedAssessment | None]


class OysterOutput(TypedDict):
    """What a run returns: the final answer, the full trace (a ``RunTrace`` as a dict) and the
    conversation so far (the prior turns plus this query and answer), ready for the next turn;
    ``messages`` holds the same conversation as chat messages (what ``stream_mode="messages"``
    and chat UIs show: the user's messages and the final answers only).
    """

    answer: str
    trace: dict[str, Any]
    history: list[ChatTurn]
    messages: list[AnyMessage]


class OysterState(TypedDict, total=False):
    """Everything the nodes share during one run."""

    query: str
    history: list[ChatTurn]
    messages: Annotated[list[AnyMessage], add_messages]  # user messages and final answers only
    profile: str | None
    id: str | None
    started_at: float
    precomputed_assessment: PrecomputedAssessment | None  # taken (and cleared) by the assess_risk node
    assessment: RiskAssessment
    assessment_reused: bool  # the assessment was passed in (precomputed_assessment), not asked for in this run
    policy_rule_id: str  # the policy category whose rule bounds this query ("none": the default guideline)
    policy_rule: str  # that rule's text, shown beside the adapted guideline to every later role
    candidates: Annotated[list[CandidateStrategy], operator.add]
    reactions: Annotated[list[SimulatedReaction], operator.add]
    scored: list[ScoredCandidate]
    chosen: int
    boundary_feasible: bool
    chain: ReasoningChain  # the chain the next answer is written from (the game's, then the reviser's)
    initial_chain: ReasoningChain  # iterate 0's chain, extracted from the model's own answer
    origin: str  # how the current draft was made: "unguided", "guided" or "revised"
    draft: Draft
    answer_reactions: Annotated[list[SimulatedReaction], operator.add]  # candidate_index = iterate step
    boundary_limit: float
    safety: SafetyJudgment
    satisfaction: SatisfactionJudgment
    iterates: Annotated[list[Iterate], operator.add]
    revision_note: str
    revision_fallback: bool  # the last revision failed and kept the chain: no evidence of convergence
    done: bool
    usage: Annotated[list[CallRecord], operator.add]
    fallbacks: Annotated[list[Fallback], operator.add]
    answer: str
    trace: dict[str, Any]
    review: dict[str, Any] | None  # a human reviewer's decision (graphs/review.py), JSON-ready


class StrategyTask(TypedDict):
    """The payload of one strategist branch (sent with ``Send``)."""

    query: str
    history: list[ChatTurn]
    assessment: RiskAssessment
    policy_rule: str
    index: int
    kind: str
    started_at: float | None  # the run's clock, for the deadline


class SimulationTask(TypedDict):
    """The payload of one user-simulator branch: one candidate, one user type."""

    query: str
    history: list[ChatTurn]
    candidate: CandidateStrategy
    user_type: str
    started_at: float | None


class AnswerSimulationTask(TypedDict):
    """The payload of one answer-reaction branch: one iterate's answer, one user type."""

    query: str
    history: list[ChatTurn]
    answer: str
    user_type: str
    step: int
    iterates: list[Iterate]  # the iterates so far (progress events number the step from them)
    started_at: float | None
