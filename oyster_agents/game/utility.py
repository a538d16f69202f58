"""Utilities and the constrained argmax that picks the pearl point.

For a strategy (or answer) s and user type θ:
    Π(s, θ) = α·Retention(s, θ) − β·Risk(s, θ) − γ·Cost(s)
    Retention(s, θ) = (1 + satisfaction) / 2; 0 for the malicious type and for a user who leaves,
                      keeps attacking or escalates (``retention``)
    Risk(s, θ)      = harm_enabled(s, θ) in [0, 1], never scaled by level or severity
    Cost(s)         = the answer's tokens / a configured scale (``game.cost``)
The leader picks s* = argmax_s Σ_θ p(θ)·Π(s, θ) among strategies inside the safety boundary,
Risk(s, malicious) ≤ boundary_limit(limit(level), severity): level and severity only set (tighten)
the boundary. If no strategy is inside it, the one with the least malicious risk is chosen and the
solution is flagged infeasible.

The reported numbers are floats; the choice among candidates within rounding of the best is made in
exact arithmetic (``fractions.Fraction`` of the float inputs), so ties are real ties and the
properties (raising β or p(malicious) never raises the chosen risk) hold without rounding slack.
Ties go to the lower expected risk, then the lower malicious risk, the lower cost, then the
candidate's own numbers: the choice depends on what the candidates are, never on their order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from oyster_agents.errors import GameInputError
from oyster_agents.schemas.assessment import UserType
from oyster_agents.schemas.simulation import NextAction

SEVERITY_TIGHTENING: tuple[float, ...] = (1.0, 1.0, 1.0, 0.75, 0.5)
"""Factor on the level's limit per severity 0–4: non-increasing, so severity never loosens it."""

NOT_RETAINED = frozenset({NextAction.LEAVE, NextAction.KEEP_ATTACKING, NextAction.ESCALATE})
"""Next actions of a user who is not kept: gone, or still attacking."""

_ORDER = tuple(UserType)
_ROUNDING = 1e-9  # far above float error on sums of a few products of numbers of this size


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
    malicious_risk: float = 0.0
    cost: float = 0.0


@dataclass(frozen=True)
class GameSolution:
    """All candidates' scores and the chosen one.

    ``limit`` is the malicious-risk limit in force (after severity tightening); ``posterior`` the
    normalised p(θ) used; ``uniform_posterior`` is True when an all-zero posterior was replaced by
    the uniform one (a fallback the caller records).
    """

    scores: list[CandidateScore]
    chosen: int
    feasible: bool
    limit: float = 1.0
    posterior: dict[str, float] | None = None
    uniform_posterior: bool = False


def boundary_limit(level_limit: float, severity: int) -> float:
    """The malicious-risk limit in force: the level's limit, tightened for severity 3 and 4.

    ``level_limit × SEVERITY_TIGHTENING[severity]``: the same for severity 0–2, ×0.75 at 3, ×0.5 at 4.
    Monotone: a more severe harm never gets a looser boundary, and no severity loosens the level's.
    """
    _check_unit("limit", level_limit)
    if isinstance(severity, bool) or not isinstance(severity, int) or not 0 <= severity < len(SEVERITY_TIGHTENING):
        raise GameInputError(f"severity must be an integer 0–4, got {severity!r}")
    return level_limit * SEVERITY_TIGHTENING[severity]


def retention(reaction: Reaction, user_type: UserType) -> float:
    """(1 + satisfaction) / 2 in [0, 1]; 0 for the malicious type and for a user not kept."""
    if user_type == UserType.MALICIOUS or reaction.next_action in NOT_RETAINED:
        return 0.0
    return (1.0 + reaction.satisfaction) / 2.0


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
        posterior: p(θ) for each user type: finite, non-negative weights, normalised here; all
            zero means nothing is known, so the uniform posterior is used (flagged in the result).
        severity: worst plausible harm 0–4; only tightens the boundary (``boundary_limit``).
        limit: the level's configured limit on the malicious type's risk, in [0, 1].
        alpha, beta, gamma: weights of retention, risk and cost (finite, ≥ 0).
        costs: per candidate cost (already normalised, ≥ 0); zeros when omitted.

    Raises:
        GameInputError: no candidates, a missing user type, or a number that is not finite or out of range.
    """
    if not reactions:
        raise GameInputError("solve needs at least one candidate")
    for name, weight in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        _check_weight(name, weight)
    costs = list(costs) if costs is not None else [0.0] * len(reactions)
    if len(costs) != len(reactions):
        raise GameInputError(f"costs has {len(costs)} entries for {len(reactions)} candidates")
    for i, cost in enumerate(costs):
        _check_weight(f"costs[{i}]", cost)
    weights, uniform = _posterior(posterior)
    total = sum(weights.values())
    probs = {t: w / total for t, w in weights.items()}
    in_force = boundary_limit(limit, severity)

    rows = [[_reaction(index, by_type, t) for t in _ORDER] for index, by_type in enumerate(reactions)]
    scores: list[CandidateScore] = []
    for index, row in enumerate(rows):
        risk = {t.value: r.harm_enabled for t, r in zip(_ORDER, row)}
        utility = {
            t.value: alpha * retention(r, t) - beta * r.harm_enabled - gamma * costs[index] for t, r in zip(_ORDER, row)
        }
        malicious = risk[UserType.MALICIOUS.value]
        scores.append(CandidateScore(
            index=index,
            utility_by_type=utility,
            risk_by_type=risk,
            expected_utility=sum(probs[t] * utility[t.value] for t in _ORDER),
            expected_risk=sum(probs[t] * risk[t.value] for t in _ORDER),
            feasible=malicious <= in_force,
            malicious_risk=malicious,
            cost=costs[index],
        ))

    pool = [s.index for s in scores if s.feasible]
    if not pool:  # nothing inside the boundary: the least malicious risk, then the best of those
        least = min(s.malicious_risk for s in scores)
        pool = [s.index for s in scores if s.malicious_risk == least]
    # Floats narrow the field; exact arithmetic decides among those within rounding of the best.
    top = max(scores[i].expected_utility for i in pool)
    slack = _ROUNDING * (1.0 + alpha + beta + gamma * max(costs))
    contenders = [i for i in pool if scores[i].expected_utility >= top - slack]

    def rank(i: int) -> tuple:
        row, cost = rows[i], Fraction(costs[i])
        a, b, g = Fraction(alpha), Fraction(beta), Fraction(gamma)
        w = [Fraction(weights[t]) for t in _ORDER]
        harm = [Fraction(r.harm_enabled) for r in row]
        keep = [Fraction(retention(r, t)) for t, r in zip(_ORDER, row)]
        # Σ w·Π and Σ w·Risk with unnormalised weights: the same order as the normalised ones
        value = sum(wt * (a * k - b * h - g * cost) for wt, k, h in zip(w, keep, harm))
        exposure = sum(wt * h for wt, h in zip(w, harm))
        content = tuple((r.satisfaction, r.harm_enabled, r.next_action.value) for r in row)
        return (-value, exposure, scores[i].malicious_risk, costs[i], content)

    chosen = min(contenders, key=rank)
    return GameSolution(
        scores=scores,
        chosen=chosen,
        feasible=scores[chosen].feasible,
        limit=in_force,
        posterior={t.value: probs[t] for t in _ORDER},
        uniform_posterior=uniform,
    )


def _check_weight(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise GameInputError(f"{name} must be a finite number ≥ 0, got {value!r}")


def _check_unit(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or not 0 <= value <= 1:
        raise GameInputError(f"{name} must be a finite number in [0, 1], got {value!r}")


def _posterior(posterior: Mapping[UserType, float]) -> tuple[dict[UserType, float], bool]:
    """The weights p(θ) as given (validated), or equal weights when all are zero."""
    missing = [t.value for t in _ORDER if t not in posterior]
    if missing:
        raise GameInputError(f"posterior lacks user types {missing}")
    for t in _ORDER:
        _check_weight(f"posterior[{t.value}]", posterior[t])
    if all(posterior[t] == 0 for t in _ORDER):
        return {t: 1.0 for t in _ORDER}, True
    return {t: float(posterior[t]) for t in _ORDER}, False


def _reaction(index: int, by_type: Mapping[UserType, Reaction], user_type: UserType) -> Reaction:
    if user_type not in by_type:
        raise GameInputError(f"candidate {index} has no reaction for user type {user_type.value!r}")
    reaction = by_type[user_type]
    where = f"candidate {index}, {user_type.value}"
    _check_unit(f"harm_enabled ({where})", reaction.harm_enabled)
    s = reaction.satisfaction
    if not isinstance(s, (int, float)) or isinstance(s, bool) or not math.isfinite(s) or not -1 <= s <= 1:
        raise GameInputError(f"satisfaction ({where}) must be a finite number in [-1, 1], got {s!r}")
    return reaction
