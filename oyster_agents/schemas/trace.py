"""The run trace: everything one query produced. ``distill/`` and ``eval/`` read only this."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oyster_agents.schemas.assessment import RiskAssessment
from oyster_agents.schemas.chain import ReasoningChain
from oyster_agents.schemas.critique import SafetyJudgment, SatisfactionJudgment
from oyster_agents.schemas.simulation import SimulatedReaction
from oyster_agents.schemas.strategy import CandidateStrategy

SCHEMA_VERSION = "1.1"
# Versions this package reads. 1.1 adds the game played on each iterate, the unguided iterate 0 and
# the policy rule the boundary was grounded in; every 1.1 field has a default, so 1.0 traces still load.
SUPPORTED_SCHEMA_VERSIONS = ("1.0", "1.1")


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
    cached_tokens: int = Field(default=0, description="Prompt tokens served from a prefix cache (of input_tokens).")
    max_tokens: int | None = Field(default=None, description="The cap on generated tokens in force for this call.")
    finish_reason: str | None = Field(
        default=None,
        description="Why generation stopped, as the backend said: 'stop'; 'length' when cut at max_tokens; "
        "'closed' when the local backend closed a JSON object early to fit max_tokens.",
    )
    schema_name: str | None = Field(default=None, description="A structured call's schema.")
    reask: int = Field(default=0, description="A structured call's re-ask number: 0 for the first ask.")
    parsed: Literal["valid", "repaired", "invalid"] | None = Field(
        default=None,
        description="A structured call's reply: validated as written, validated after a JSON repair (or "
        "closing an object cut at max_tokens), or not usable (a re-ask or the fallback followed).",
    )


class RoleUsage(BaseModel):
    """Aggregated calls, tokens and seconds for one role."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    cached_tokens: int = 0


class Usage(BaseModel):
    """Per-role and total usage of one run."""

    per_role: dict[str, RoleUsage] = Field(default_factory=dict)
    total: RoleUsage = Field(default_factory=RoleUsage)
    wall_seconds: float = 0.0
    calls: list[CallRecord] = Field(default_factory=list, description="Every call, in the order they finished.")

    @classmethod
    def from_calls(cls, calls: list[CallRecord], wall_seconds: float = 0.0) -> "Usage":
        """Aggregate call records."""
        usage = cls(wall_seconds=wall_seconds, calls=list(calls))
        for call in calls:
            for bucket in (usage.per_role.setdefault(call.role, RoleUsage()), usage.total):
                bucket.calls += 1
                bucket.input_tokens += call.input_tokens
                bucket.output_tokens += call.output_tokens
                bucket.seconds += call.seconds
                bucket.cached_tokens += call.cached_tokens
        return usage


# The kind of the fallback that says the safety gate replaced every (unsafe) iterate by the cautious answer.
ALL_UNSAFE = "all_unsafe"


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
    expected_risk: float | None = None
    cost: float | None = None


class IterateGame(BaseModel):
    """The game played on an iterate's actual answer (schema 1.1): the follower's reactions and the
    solver's numbers. ``reactions`` carry ``candidate_index`` = the iterate's step."""

    reactions: list[SimulatedReaction]
    utility_by_type: dict[str, float]
    risk_by_type: dict[str, float]
    expected_utility: float
    expected_risk: float
    malicious_risk: float
    cost: float
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
    origin: Literal["unguided", "guided", "revised"] = Field(
        default="guided",
        description="unguided: the model's own answer (iterate 0); guided: written from the game's "
        "chosen strategy; revised: after a reviser step.",
    )
    game: IterateGame | None = Field(default=None, description="The game on this answer (schema 1.1).")
    answer_tokens: int = Field(default=0, ge=0, description="Tokens of the answer (the cost's basis).")


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
    assessment_reused: bool = Field(
        default=False, description="The assessment was made before the run (the guard's) and passed in, not asked again."
    )
    candidates: list[ScoredCandidate]
    chosen: int = Field(description="Index of the chosen candidate (the pearl point).")
    boundary_feasible: bool = True
    iterates: list[Iterate]
    best_iterate: int
    selection_reason: str = Field(default="", description="Why the returned iterate was returned.")
    policy_rule_id: str | None = Field(
        default=None, description="The policy category whose rule the boundary was grounded in."
    )
    policy_rule: str = Field(default="", description="That category's rule text, as the policy states it.")
    boundary_limit: float | None = Field(
        default=None, description="The malicious-risk limit in force after level and severity."
    )
    answer: str
    usage: Usage
    fallbacks: list[Fallback] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value not in SUPPORTED_SCHEMA_VERSIONS:
            raise ValueError(
                f"schema_version {value!r} is not supported: this version of oyster-agents reads "
                f"{', '.join(SUPPORTED_SCHEMA_VERSIONS)}; upgrade oyster-agents to read newer traces"
            )
        return value

    @property
    def best(self) -> Iterate:
        """The best iterate."""
        return self.iterates[self.best_iterate]
