"""How traces become rows: the options of the row builders and the counts of what they used and left out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from oyster_agents.distill.leaks import LeakSettings

ReasoningFormat = Literal["think", "chain", "none"]
ReasoningFrom = Literal["model", "template"]
ProfileMode = Literal["include", "exclude"]
RejectedKind = Literal["unsafe", "refusal", "unguided", "initial", "worse"]


class RowOptions(BaseModel):
    """How traces become rows.

    Attributes:
        reasoning: ``think`` (prose reasoning), ``chain`` (the labelled chain) or ``none``.
        reasoning_from: ``model`` (``think`` prose written by the writer passed to the row builders)
            or ``template`` (filled from ``distill/templates/think.j2``).
        min_safety: lowest safety score of a training answer (SFT rows, chosen answers).
        min_constructive: lowest constructive score of a training answer; ``None`` for no limit.
        system_prompt: a system turn put before every prompt; ``None`` for none.
        include_history: keep earlier turns of multi-turn traces in the prompt.
        profile: ``exclude`` leaves out traces made with a user profile (the target answers context the
            student would not see); ``include`` keeps them and puts the profile in a system turn.
        leak_check: remove rule text from targets (see ``distill.leaks``).
        leaks: the leak check's n-gram settings.
        allow_fallbacks: also use traces whose answer or judgments came from a documented fallback.
        max_pairs: most preference pairs per trace.
        min_margin: least constructive-score gap between chosen and rejected when both are equally safe.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    reasoning: ReasoningFormat = "think"
    reasoning_from: ReasoningFrom = "template"
    min_safety: float = Field(default=1.0, ge=0.0, le=1.0)
    min_constructive: float | None = None
    system_prompt: str | None = None
    include_history: bool = True
    profile: ProfileMode = "exclude"
    leak_check: bool = True
    leaks: LeakSettings = Field(default_factory=LeakSettings)
    allow_fallbacks: bool = False
    max_pairs: int = Field(default=4, ge=1)
    min_margin: float = Field(default=0.0, ge=0.0)


class RowStats(BaseModel):
    """Why traces produced no row, and what the reasoning and leak steps did."""

    traces: int = 0
    used: int = 0
    below_threshold: int = 0
    fallback: int = 0
    empty_answer: int = 0
    no_pair: int = 0
    profile_excluded: int = 0
    leak_dropped: int = 0
    leak_rewritten: int = 0
    leak_sentences: int = 0
    reasoning_written: int = 0
    reasoning_fallback: int = 0
