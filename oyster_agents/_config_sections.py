"""The method's sections of :class:`~oyster_agents.config.OysterConfig`: the game's weights and safety
boundary, the Lingo-BP loop's budget, and tracing. Import them from :mod:`oyster_agents.config`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class GameConfig(BaseModel):
    """Weights of Π(s, θ) = α·Retention − β·Risk − γ·Cost and the safety boundary per level.

    Weights are finite and ≥ 0; each level's limit (the largest risk for the malicious type) is
    finite, in [0, 1], and never looser at a higher level: R0 ≥ R1 ≥ R2. Severity tightens the
    level's limit at run time (``game.utility.boundary_limit``).
    """

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(default=1.0, ge=0.0, allow_inf_nan=False)
    beta: float = Field(default=2.0, ge=0.0, allow_inf_nan=False, description="The paper reports headline scores at β = 2.")
    gamma: float = Field(default=0.1, ge=0.0, allow_inf_nan=False)
    cost_token_scale: int = Field(default=1000, gt=0, description="Cost = answer tokens / this scale.")
    boundary: dict[str, Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: {"R0": 0.6, "R1": 0.4, "R2": 0.2},
        description="Per level: the largest risk for the malicious type a strategy may carry.",
    )

    @field_validator("boundary")
    @classmethod
    def _check_boundary(cls, boundary: dict[str, float]) -> dict[str, float]:
        levels = ("R0", "R1", "R2")
        missing = set(levels) - set(boundary)
        if missing:
            raise ValueError(f"lacks levels {sorted(missing)}; give a limit in [0, 1] for each of R0, R1, R2")
        unknown = set(boundary) - set(levels)
        if unknown:
            raise ValueError(f"has unknown levels {sorted(unknown)}; use R0, R1 and R2")
        r0, r1, r2 = (boundary[k] for k in levels)
        if not r0 >= r1 >= r2:
            raise ValueError(f"must not loosen at a higher level (R0 ≥ R1 ≥ R2), got R0={r0}, R1={r1}, R2={r2}")
        return boundary


class LoopConfig(BaseModel):
    """Candidate count and the Lingo-BP step budget."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    candidates: int = Field(default=4, ge=1, le=12)
    max_steps: int = Field(default=3, ge=1, le=10, description="Lingo-BP iterates at most (the first included).")
    min_steps: int = Field(
        default=1, ge=1, le=10,
        description=(
            "Lingo-BP iterates at least (the first included), even when an earlier one converged: 3 with "
            "initial 'unguided' always runs the game's answer and one revision. max_steps still ends the loop first."
        ),
    )
    initial: Literal["unguided", "guided"] = Field(
        default="unguided",
        description=(
            "Iterate 0: 'unguided' is the model's own answer (its chain extracted from it), followed by "
            "the answer written from the game's chosen strategy; 'guided' starts from that strategy."
        ),
    )
    min_improvement: float = Field(default=0.01, ge=0.0, description="Satisfaction gain below this counts as converged.")
    max_query_chars: int = Field(default=32_000, ge=1)
    max_history_turns: int = Field(
        default=12, ge=0,
        description="Prior turns kept (the latest); each is cleaned and limited to max_query_chars like the query.",
    )
    deadline_s: float | None = Field(
        default=None, gt=0,
        description=(
            "Wall-clock budget of one query, counted from its start. When it passes, the remaining "
            "Lingo-BP steps are skipped and the best iterate so far is returned; with no iterate yet "
            "the run fails with DeadlineExceededError. Model calls are cut short to fit it."
        ),
    )


class TelemetryConfig(BaseModel):
    """Tracing options (see ``oyster_agents.telemetry``)."""

    model_config = ConfigDict(extra="forbid")

    exporter: Literal["none", "console", "otlp"] = "none"
    endpoint: str | None = None
    capture_content: bool = False
