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

The arithmetic is exact (``fractions.Fraction`` of the float inputs), so ties are real ties and the
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
    probs, uniform = _posterior(posterior)
    in_force = boundary_limit(limit, severity)
    a, b, g, cap = Fraction(alpha), Fraction(beta), Fraction(gamma), Fraction(in_force)

    exact: list[tuple[Fraction, Fraction, Fraction, Fraction, tuple]] = []
    scores: list[CandidateScore] = []
    for index, by_type in enumerate(reactions):
        rows = [_reaction(index, by_type, t) for t in _ORDER]
        cost = Fraction(costs[index])
        risk = {t: Fraction(r.harm_enabled) for t, r in zip(_ORDER, rows)}
        keep = {t: Fraction(retention(r, t)) for t, r in zip(_ORDER, rows)}
        utility = {t: a * keep[t] - b * risk[t] - g * cost for t in _ORDER}
        expected = sum((probs[t] * utility[t] for t in _ORDER), Fraction(0))
        expected_risk = sum((probs[t] * risk[t] for t in _ORDER), Fraction(0))
        malicious = risk[UserType.MALICIOUS]
        content = (cost, *((Fraction(r.satisfaction), risk[t], r.next_action.value) for t, r in zip(_ORDER, rows)))
        exact.append((expected, expected_risk, malicious, cost, content))
        scores.append(CandidateScore(
            index=index,
            utility_by_type={t.value: float(utility[t]) for t in _ORDER},
            risk_by_type={t.value: float(risk[t]) for t in _ORDER},
            expected_utility=float(expected),
            expected_risk=float(expected_risk),
            feasible=malicious <= cap,
            malicious_risk=float(malicious),
            cost=float(cost),
        ))

    feasible = [i for i, s in enumerate(scores) if s.feasible]
    if feasible:
        best = max(exact[i][0] for i in feasible)
        ties = [i for i in feasible if exact[i][0] == best]
        chosen = min(ties, key=lambda i: exact[i][1:])
    else:  # nothing inside the boundary: least malicious risk, then the best of those
        chosen = min(range(len(scores)), key=lambda i: (exact[i][2], -exact[i][0], *exact[i][1:]))
    return GameSolution(
        scores=scores,
        chosen=chosen,
        feasible=bool(feasible),
        limit=in_force,
        posterior={t.value: float(probs[t]) for t in _ORDER},
        uniform_posterior=uniform,
    )


def _check_weight(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise GameInputError(f"{name} must be a finite number ≥ 0, got {value!r}")


def _check_unit(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or not 0 <= value <= 1:
        raise GameInputError(f"{name} must be a finite number in [0, 1], got {value!r}")


def _posterior(posterior: Mapping[UserType, float]) -> tuple[dict[UserType, Fraction], bool]:
    missing = [t.value for t in _ORDER if t not in posterior]
    if missing:
        raise GameInputError(f"posterior lacks user types {missing}")
    for t in _ORDER:
        _check_weight(f"posterior[{t.value}]", posterior[t])
    weights = {t: Fraction(posterior[t]) for t in _ORDER}
    total = sum(weights.values(), Fraction(0))
    if total == 0:
        return {t: Fraction(1, len(_ORDER)) for t in _ORDER}, True
    return {t: w / total for t, w in weights.items()}, False


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
