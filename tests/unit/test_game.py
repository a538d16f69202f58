"""The game solver and the trust region: hand-computed cases and properties."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oyster_agents.game.trust_region import project_list
from oyster_agents.game.utility import Reaction, retention, solve
from oyster_agents.schemas import NextAction, UserType

B, S, M = UserType.BENIGN, UserType.SENSITIVE, UserType.MALICIOUS


def _row(sat: tuple[float, float, float], harm: tuple[float, float, float]) -> dict[UserType, Reaction]:
    return {t: Reaction(sat[i], harm[i]) for i, t in enumerate((B, S, M))}


def test_retention_maps_satisfaction_and_leaving():
    assert retention(Reaction(1.0, 0.0)) == 1.0
    assert retention(Reaction(-1.0, 0.0)) == 0.0
    assert retention(Reaction(0.0, 0.0)) == 0.5
    assert retention(Reaction(0.9, 0.0, NextAction.LEAVE)) == 0.0


def test_hand_computed_expected_utility_and_choice():
    # candidate 0: helpful but gives the attacker a lot; candidate 1: careful.
    rows = [_row((1.0, 0.6, 1.0), (0.0, 0.2, 0.8)), _row((0.6, 0.6, -0.6), (0.0, 0.0, 0.1))]
    posterior = {B: 0.5, S: 0.3, M: 0.2}
    sol = solve(rows, posterior, severity=4, limit=0.4, alpha=1.0, beta=2.0, gamma=0.0)
    s0, s1 = sol.scores
    # candidate 0: U_b = 1 - 0 = 1; U_s = 0.8 - 2*0.2 = 0.4; U_m = 1 - 2*0.8 = -0.6
    assert s0.utility_by_type == pytest.approx({"benign": 1.0, "sensitive": 0.4, "malicious": -0.6})
    assert s0.expected_utility == pytest.approx(0.5 * 1.0 + 0.3 * 0.4 + 0.2 * -0.6)
    assert not s0.feasible  # malicious risk 0.8 > 0.4
    # candidate 1: U_b = 0.8; U_s = 0.8; U_m = 0.2 - 2*0.1 = 0.0
    assert s1.expected_utility == pytest.approx(0.5 * 0.8 + 0.3 * 0.8 + 0.0)
    assert sol.chosen == 1 and sol.feasible


def test_severity_scales_risk_and_cost_is_subtracted():
    rows = [_row((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))]
    sol = solve(rows, {B: 1, S: 0, M: 0}, severity=2, limit=1.0, alpha=1, beta=1, gamma=0.5, costs=[0.4])
    assert sol.scores[0].risk_by_type["benign"] == pytest.approx(0.5)
    assert sol.scores[0].utility_by_type["benign"] == pytest.approx(0.5 - 0.5 - 0.2)


def test_infeasible_set_picks_least_malicious_risk():
    rows = [_row((1, 1, 1), (0, 0, 0.9)), _row((0, 0, 0), (0, 0, 0.7))]
    sol = solve(rows, {B: 0.9, S: 0.05, M: 0.05}, severity=4, limit=0.1, alpha=1, beta=0, gamma=0)
    assert not sol.feasible and sol.chosen == 1


unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
signed = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
row = st.tuples(st.tuples(signed, signed, signed), st.tuples(unit, unit, unit))
posteriors = st.tuples(unit, unit, unit).filter(lambda p: sum(p) > 0.01)


def _normalise(p):
    total = sum(p)
    return {B: p[0] / total, S: p[1] / total, M: p[2] / total}


@settings(max_examples=300, deadline=None)
@given(st.lists(row, min_size=1, max_size=6), posteriors, st.integers(0, 4), unit)
def test_chosen_never_crosses_the_boundary_when_a_safe_strategy_exists(rows, post, severity, limit):
    table = [_row(*r) for r in rows]
    sol = solve(table, _normalise(post), severity=severity, limit=limit, alpha=1, beta=2, gamma=0.1)
    chosen = sol.scores[sol.chosen]
    if any(s.feasible for s in sol.scores):
        assert chosen.feasible
        assert chosen.risk_by_type["malicious"] <= limit + 1e-9
    else:
        assert not sol.feasible


@settings(max_examples=300, deadline=None)
@given(
    st.lists(row, min_size=1, max_size=6), posteriors, st.integers(0, 4), unit,
    st.floats(0, 10, allow_nan=False), st.floats(0, 10, allow_nan=False),
)
def test_raising_beta_never_raises_the_chosen_risk(rows, post, severity, limit, beta_a, beta_b):
    low, high = sorted((beta_a, beta_b))
    table = [_row(*r) for r in rows]
    p = _normalise(post)
    a = solve(table, p, severity=severity, limit=limit, alpha=1, beta=low, gamma=0)
    b = solve(table, p, severity=severity, limit=limit, alpha=1, beta=high, gamma=0)
    assert b.scores[b.chosen].expected_risk <= a.scores[a.chosen].expected_risk + 1e-6


def test_trust_region_keeps_a_single_edit():
    old = ["a b c", "d e f"]
    assert project_list(old, ["a b c", "d e g"]).items == ["a b c", "d e g"]
    assert not project_list(old, ["a b c"]).projected
    assert not project_list(old, [*old, "new"]).projected


def test_trust_region_cuts_three_changes_to_one():
    old = ["explain safe care", "say when to call a doctor", "warn about alcohol"]
    new = ["explain safe fever care in detail", "list medicines and doses", "give home remedies", "warn about alcohol"]
    edit = project_list(old, new)
    assert edit.projected and edit.changes_proposed == 3
    removed = [x for x in old if x not in edit.items]
    added = [x for x in edit.items if x not in old]
    assert len(removed) <= 1 and len(added) <= 1
    # the most similar pair is taken as a rewording
    assert "explain safe fever care in detail" in edit.items and "explain safe care" not in edit.items


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), max_size=5), st.lists(st.text(min_size=1, max_size=8), max_size=5))
@example(old=["0", ";"], new=[])
def test_trust_region_never_changes_more_than_one_item(old, new):
    norm = lambda xs: {" ".join(x.lower().split()).strip(" .;,") for x in xs}  # noqa: E731
    # an old list holds real items only: the lists never keep one that is blank or bare punctuation
    old = list(dict.fromkeys(x for x in old if norm([x]) != {""}))
    edit = project_list(old, new)
    before, after = norm(old), norm(edit.items)
    assert max(len(before - after), len(after - before)) <= 1
