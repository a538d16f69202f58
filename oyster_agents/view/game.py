"""The game as the view shows it: candidate rows, the boundary, and the choice recomputed across β.

Nothing here re-runs the solver's model calls: every number comes from the trace. Utility is linear in
β, Π(s, θ; β) = α·Retention − β·Risk − γ·Cost, so from the stored utility at the trace's β₀ and the
stored risk, Π(s, θ; β) = Π(s, θ; β₀) − (β − β₀)·Risk(s, θ), and the expected utility moves by
−(β − β₀)·E[Risk]. Feasibility (malicious risk under the limit) does not depend on β, so the choice at
any β follows from the solver's rule: the highest expected utility inside the boundary, ties to the
lower expected risk, then the lower index; with nothing inside, the least malicious risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from oyster_agents.game.selection import best_within
from oyster_agents.schemas import RunTrace

USER_TYPES = ("benign", "sensitive", "malicious")
DEFAULT_BETA = 2.0  # the configuration's default, used when a trace does not record its β
SWEEP_MAX = 10.0
SWEEP_STEP = 0.05


@dataclass(frozen=True)
class CandidateRow:
    """One candidate strategy with the solver's numbers."""

    index: int
    title: str
    kind: str
    description: str
    usefulness: list[str]
    safety: list[str]
    utilities: dict[str, float]
    risks: dict[str, float]
    expected_utility: float
    expected_risk: float
    cost: float | None
    feasible: bool
    chosen: bool

    @property
    def malicious_risk(self) -> float:
        """Risk for the malicious type: what the boundary constrains."""
        return self.risks.get("malicious", 0.0)


@dataclass(frozen=True)
class SweepSegment:
    """A β interval over which the same candidate is chosen."""

    start: float
    end: float
    chosen: int


@dataclass
class GameView:
    """Everything the game panel draws."""

    rows: list[CandidateRow]
    posterior: dict[str, float]
    chosen: int
    boundary_feasible: bool
    beta: float
    beta_recorded: bool
    limit: float | None
    limit_source: str
    sweep: list[SweepSegment] = field(default_factory=list)
    choice_at_beta: int | None = None


def expected_risk(risks: dict[str, float], posterior: dict[str, float]) -> float:
    """Σ_θ p(θ)·Risk(s, θ)."""
    return sum(posterior.get(t, 0.0) * risks.get(t, 0.0) for t in USER_TYPES)


def choose(rows: Sequence[CandidateRow], beta: float, beta0: float) -> int:
    """The candidate the solver picks at ``beta``, from numbers stored at ``beta0``."""
    if not rows:
        raise ValueError("no candidates to choose from")

    def eu(row: CandidateRow) -> float:
        return row.expected_utility - (beta - beta0) * row.expected_risk

    pool = [r for r in rows if r.feasible]
    if pool:
        return best_within(pool, eu, lambda r: (r.expected_risk, r.index)).index
    return min(rows, key=lambda r: (r.malicious_risk, -eu(r), r.index)).index


def beta_sweep(rows: Sequence[CandidateRow], beta0: float, *, top: float = SWEEP_MAX,
               step: float = SWEEP_STEP) -> list[SweepSegment]:
    """Which candidate is chosen for β from 0 to ``top``, as contiguous segments."""
    if not rows:
        return []
    count = int(round(top / step))
    segments: list[SweepSegment] = []
    for n in range(count + 1):
        beta = n * step
        pick = choose(rows, beta, beta0)
        if segments and segments[-1].chosen == pick:
            segments[-1] = SweepSegment(segments[-1].start, beta, pick)
        else:
            segments.append(SweepSegment(beta, beta, pick))
    return segments


def game_view(trace: RunTrace) -> GameView:
    """The game panel's numbers for one trace (schema 1.0 or later)."""
    posterior = {t.value: p for t, p in trace.assessment.user_type_posterior.items()}
    game_cfg = trace.config.get("game", {}) if isinstance(trace.config, dict) else {}
    beta_raw = game_cfg.get("beta")
    beta = float(beta_raw) if isinstance(beta_raw, (int, float)) else DEFAULT_BETA
    rows = []
    for scored in trace.candidates:
        cand = scored.candidate
        risks = {t: float(scored.risk_by_type.get(t, 0.0)) for t in USER_TYPES}
        rows.append(CandidateRow(
            index=cand.index,
            title=cand.title,
            kind=cand.kind.value,
            description=cand.description,
            usefulness=list(cand.usefulness_strategies),
            safety=list(cand.safety_strategies),
            utilities={t: float(scored.utility_by_type.get(t, 0.0)) for t in USER_TYPES},
            risks=risks,
            expected_utility=scored.expected_utility,
            expected_risk=scored.expected_risk if scored.expected_risk is not None else expected_risk(risks, posterior),
            cost=scored.cost,
            feasible=scored.feasible,
            chosen=cand.index == trace.chosen,
        ))
    limit, source = boundary_limit(trace, game_cfg)
    view = GameView(rows=rows, posterior=posterior, chosen=trace.chosen, boundary_feasible=trace.boundary_feasible,
                    beta=beta, beta_recorded=beta_raw is not None, limit=limit, limit_source=source)
    if rows:
        view.sweep = beta_sweep(rows, beta)
        view.choice_at_beta = choose(rows, beta, beta)
    return view


def boundary_limit(trace: RunTrace, game_cfg: dict) -> tuple[float | None, str]:
    """The malicious-risk limit and where it came from (recorded, or the level's configured limit)."""
    if trace.boundary_limit is not None:
        return trace.boundary_limit, "recorded in the trace"
    limits = game_cfg.get("boundary")
    level = trace.assessment.level.value
    if isinstance(limits, dict) and isinstance(limits.get(level), (int, float)):
        return float(limits[level]), f"the configured limit for {level} (the trace records none)"
    return None, "not recorded"
