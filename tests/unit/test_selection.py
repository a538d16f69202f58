"""The returned iterate (game.selection): expected utility inside the boundary, the safety gate, ties."""

from __future__ import annotations

import pytest

from oyster_agents.game.selection import select_iterate
from oyster_agents.schemas import (
    Iterate,
    IterateGame,
    ReasoningChain,
    RubricScores,
    SafetyJudgment,
    SatisfactionJudgment,
)

CHAIN = ReasoningChain(user_need="n", risk_intent="", guideline="g", usefulness_strategies=["u"], safety_strategies=["s"])
SCORE = {"safe": 1.0, "borderline": 0.5, "unsafe": 0.0}


def it(step: int, verdict: str, utility: float | None, *, feasible: bool = True, risk: float = 0.0,
       malicious: float = 0.0, origin: str = "revised") -> Iterate:
    game = None if utility is None else IterateGame(
        reactions=[], utility_by_type={}, risk_by_type={}, expected_utility=utility, expected_risk=risk,
        malicious_risk=malicious, cost=0.0, feasible=feasible)
    return Iterate(
        step=step, chain=CHAIN, answer=f"answer {step}", origin=origin, game=game,
        safety=SafetyJudgment(verdict=verdict, explanation="", suggestion=""),
        satisfaction=SatisfactionJudgment(scores=RubricScores(empathy=0, willingness_to_help=0, task_completion=0,
                                                              relevance=0, informativeness=0)),
        safety_score=SCORE[verdict], satisfaction_score=0.0, constructive_score=0.0,
    )


def test_highest_expected_utility_inside_the_boundary_wins_over_a_safer_score():
    # the old rule (safety first) would pick iterate 0; the game picks the more useful borderline one
    pick = select_iterate([it(0, "safe", 0.30, origin="unguided"), it(1, "borderline", 0.55)])
    assert (pick.index, pick.use_fallback_answer) == (1, False)
    assert pick.reason.startswith("iterate 1 (revised): highest expected utility inside the boundary (0.5500)")


def test_an_iterate_outside_the_boundary_loses_to_a_worse_one_inside():
    pick = select_iterate([it(0, "safe", 0.9, feasible=False, malicious=0.7), it(1, "safe", 0.1)])
    assert pick.index == 1


def test_unsafe_iterates_are_never_returned_whatever_their_utility():
    pick = select_iterate([it(0, "unsafe", 0.99), it(1, "borderline", 0.01), it(2, "unsafe", 0.98)])
    assert pick.index == 1 and not pick.use_fallback_answer
    assert "2 unsafe iterate(s) excluded" in pick.reason


def test_all_unsafe_returns_the_cautious_answer_and_names_the_best_ungated_iterate():
    pick = select_iterate([it(0, "unsafe", 0.2), it(1, "unsafe", 0.4)])
    assert pick.use_fallback_answer and pick.index == 1
    assert pick.reason.startswith("every iterate (2) was judged unsafe")


def test_none_inside_the_boundary_takes_the_least_malicious_risk():
    pick = select_iterate([it(0, "safe", 0.8, feasible=False, malicious=0.5),
                           it(1, "safe", 0.1, feasible=False, malicious=0.3),
                           it(2, "safe", 0.9, feasible=False, malicious=0.45)])
    assert pick.index == 1 and "least malicious risk (0.3000)" in pick.reason


def test_tie_on_utility_goes_to_the_higher_safety_score():
    pick = select_iterate([it(0, "borderline", 0.5), it(1, "safe", 0.5)])
    assert pick.index == 1


def test_tie_on_utility_and_safety_goes_to_the_lower_expected_risk_then_the_earlier_iterate():
    assert select_iterate([it(0, "safe", 0.5, risk=0.2), it(1, "safe", 0.5, risk=0.1)]).index == 1
    assert select_iterate([it(0, "safe", 0.5, risk=0.1), it(1, "safe", 0.5, risk=0.1)]).index == 0
    # within 1e-9 counts as a tie
    assert select_iterate([it(0, "safe", 0.5 - 1e-12), it(1, "safe", 0.5)]).index == 0


def test_tie_on_malicious_risk_outside_the_boundary_goes_to_utility_then_the_earlier_iterate():
    outside = dict(feasible=False, malicious=0.5)
    assert select_iterate([it(0, "safe", 0.1, **outside), it(1, "safe", 0.3, **outside)]).index == 1
    assert select_iterate([it(0, "safe", 0.3, **outside), it(1, "safe", 0.3, **outside)]).index == 0


def test_an_iterate_that_was_not_played_ranks_below_every_played_one():
    assert select_iterate([it(0, "safe", None), it(1, "safe", 0.2, feasible=False, malicious=0.9)]).index == 1
    assert select_iterate([it(0, "safe", None)]).index == 0


def test_no_iterates_is_an_error():
    with pytest.raises(ValueError, match="no iterates"):
        select_iterate([])
