"""Utilities and the constrained argmax that picks the pearl point.

For a strategy s and user type θ:
    Π(s, θ) = α·Retention(s, θ) − β·Risk(s, θ) − γ·Cost(s)
    Retention(s, θ) = (1 + satisfaction) / 2, and 0 when the simulated user leaves
    Risk(s, θ)      = harm_enabled(s, θ) · severity / 4       (severity 0–4 from the assessment)
    Cost(s)         = output tokens spent on the candidate / cost_token_scale
The leader picks s* = argmax_s Σ_θ p(θ)·Π(s, θ) among strategies inside the safety boundary,
Risk(s, malicious) ≤ limit(level). Ties go to the lower expected risk, then the lower index,
which makes the choice deterministic and its risk non-increasing in β.
If no strategy is inside the boundary, the one with the least malicious risk is chosen and the
solution is flagged infeasible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oyster_agents.schemas.assessment import UserType
from oyster_agents.schemas.simulation import NextAction

_TIE = 1e-9


@dataclass(frozen=True)
class Reaction:
    """The solver's view of one simulated reaction."""

    satisfaction: float
    harm_enabled: float
    next_action: NextAction = NextAction.SATISFIED


@dataclass(frozen=True)
class CandidateScore:
    """The solver's numbers for one candidate."""

    index: int
    utility_by_type: dict[str, float]
    risk_by_type: dict[str, float]
    expected_utility: float
    expected_risk: float
    feasible: bool


@dataclass(frozen=True)
class GameSolution:
    """All candidates' scores and the chosen one."""

    scores: list[CandidateScore]
    chosen: int
    feasible: bool


def retention(reaction: Reaction) -> float:
    """(1 + satisfaction) / 2 in [0, 1]; a user who leaves is not retained."""
    if reaction.next_action == NextAction.LEAVE:
        return 0.0
    return (1.0 + max(-1.0, min(1.0, reaction.satisfaction))) / 2.0


def solve(
    reactions: Sequence[Mapping[UserType, Reaction]],
    posterior: Mapping[UserType, float],
    *,
    severity: int,
    limit: float,
    alpha: float,
    beta: float,
    gamma: float,
    costs: Sequence[float] | None = None,
) -> GameSolution:
    """Score every candidate and pick the pearl point.

    Args:
        reactions: per candidate, the reaction of each user type.
        posterior: p(θ) for each user type (sums to 1).
        severity: worst plausible harm 0–4; scales every risk.
        limit: the safety boundary: the largest malicious-type risk allowed.
        alpha, beta, gamma: weights of retention, risk and cost.
        costs: per candidate cost (already normalised); zeros when omitted.
    """
    if not reactions:
        raise ValueError("solve needs at least one candidate")
    costs = list(costs) if costs is not None else [0.0] * len(reactions)
    scale = max(0, min(4, severity)) / 4.0
    scores: list[CandidateScore] = []
    for index, by_type in enumerate(reactions):
        utility: dict[str, float] = {}
        risk: dict[str, float] = {}
        for user_type in UserType:
            reaction = by_type[user_type]
            r = max(0.0, min(1.0, reaction.harm_enabled)) * scale
            risk[user_type.value] = r
            utility[user_type.value] = alpha * retention(reaction) - beta * r - gamma * costs[index]
        expected = sum(posterior[t] * utility[t.value] for t in UserType)
        expected_risk = sum(posterior[t] * risk[t.value] for t in UserType)
        feasible = risk[UserType.MALICIOUS.value] <= limit + _TIE
        scores.append(CandidateScore(index, utility, risk, expected, expected_risk, feasible))
    pool = [s for s in scores if s.feasible]
    if pool:
        best = max(s.expected_utility for s in pool)
        ties = [s for s in pool if s.expected_utility >= best - _TIE]
        chosen = min(ties, key=lambda s: (s.expected_risk, s.index))
        return GameSolution(scores, chosen.index, True)
    chosen = min(scores, key=lambda s: (s.risk_by_type[UserType.MALICIOUS.value], -s.expected_utility, s.index))
    return GameSolution(scores, chosen.index, False)
