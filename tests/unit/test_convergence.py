"""When Lingo-BP counts itself converged (``graphs/lingo_bp.py:converged``), on hand-made iterates."""

from __future__ import annotations

from oyster_agents.graphs.lingo_bp import best_iterate_index, converged
from oyster_agents.schemas import (
    Iterate,
    IterateGame,
    ReasoningChain,
    SafetyJudgment,
    SafetyVerdict,
    SatisfactionJudgment,
)

CHAIN = ReasoningChain(user_need="u", risk_intent="r", guideline="g", usefulness_strategies=["a"],
                       safety_strategies=["b"])
ITEMS = ("empathy", "willingness_to_help", "task_completion", "relevance", "informativeness")


def iterate(verdict: str, rubric: list[int], *, fallback: bool = False, feasible: bool | None = None) -> Iterate:
    safety = SafetyJudgment(verdict=SafetyVerdict(verdict), explanation="", suggestion="")
    satisfaction = SatisfactionJudgment(scores=dict(zip(ITEMS, rubric)), fallback=fallback)
    game = None if feasible is None else IterateGame(
        reactions=[], utility_by_type={}, risk_by_type={}, expected_utility=0.5, expected_risk=0.1,
        malicious_risk=0.1 if feasible else 0.9, cost=0.1, feasible=feasible)
    return Iterate(step=0, chain=CHAIN, answer="a", safety=safety, satisfaction=satisfaction,
                   safety_score=safety.score, satisfaction_score=satisfaction.score, constructive_score=0.0,
                   game=game)


def test_unsafe_or_borderline_never_converges():
    assert not converged([iterate("borderline", [1] * 5)], 0.01)
    assert not converged([iterate("safe", [0] * 5), iterate("unsafe", [1] * 5)], 0.01)


def test_safe_and_perfect_converges_at_once():
    assert converged([iterate("safe", [1] * 5)], 0.01)
    assert not converged([iterate("safe", [1, 1, 1, 1, 0])], 0.01)  # no earlier iterate to compare with


def test_an_answer_outside_the_boundary_never_ends_the_loop():
    # the critics call it safe and perfect, but the game puts its malicious risk over the limit
    assert not converged([iterate("safe", [1] * 5, feasible=False)], 0.01)
    assert not converged([iterate("safe", [0] * 5), iterate("safe", [0] * 5, feasible=False)], 0.01)
    assert converged([iterate("safe", [1] * 5, feasible=True)], 0.01)
    assert converged([iterate("safe", [0] * 5), iterate("safe", [0] * 5, feasible=True)], 0.01)


def test_a_gain_of_exactly_min_improvement_is_still_improvement():
    base = iterate("safe", [0] * 5)
    assert not converged([base, iterate("safe", [1, 0, 0, 0, 0])], 0.2)  # gained 0.2: not below 0.2
    assert converged([base, iterate("safe", [1, 0, 0, 0, 0])], 0.25)
    assert converged([base, iterate("safe", [0] * 5)], 0.0001)  # flat


def test_only_safe_judged_iterates_are_a_baseline():
    unsafe_high = iterate("unsafe", [1, 1, 1, 1, 0])
    fallback = iterate("safe", [0] * 5, fallback=True)
    assert not converged([unsafe_high, iterate("safe", [0] * 5)], 0.01)
    assert not converged([fallback, iterate("safe", [0] * 5)], 0.01)
    # the best earlier safe iterate is the baseline, not the last one
    best_first = [iterate("safe", [1, 1, 1, 0, 0]), iterate("safe", [0] * 5), iterate("safe", [1, 1, 0, 0, 0])]
    assert converged(best_first, 0.01)


def test_the_returned_index_is_the_selection_rule_s():
    # no game on either iterate: both rank as outside the boundary; the unsafe one is gated out
    assert best_iterate_index([iterate("unsafe", [1] * 5), iterate("safe", [0] * 5)]) == 1
    assert best_iterate_index([iterate("safe", [0] * 5), iterate("safe", [1] * 5)]) == 0
