"""The game solver and the trust region: hand-computed cases and properties.

The property tests run 1,000 examples each (METHOD.md §1 lists the properties); the solver decides
in exact arithmetic, so they hold with no slack beyond the rounding of the reported floats.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oyster_agents.errors import GameInputError
from oyster_agents.game import answer_cost, boundary_limit, plan_answer_tokens
from oyster_agents.game.trust_region import project_list
from oyster_agents.game.utility import SEVERITY_TIGHTENING, Reaction, retention, solve
from oyster_agents.schemas import NextAction, UserType

B, S, M = UserType.BENIGN, UserType.SENSITIVE, UserType.MALICIOUS
A = NextAction
# 1,000 examples each; a mutation run (docs/method.md) may lower it to keep its thousands of runs short
MANY = settings(max_examples=int(os.environ.get("OYSTER_PROPERTY_EXAMPLES", "1000")), deadline=None)


def _row(sat, harm, actions=(A.SATISFIED, A.SATISFIED, A.SATISFIED)) -> dict[UserType, Reaction]:
    return {t: Reaction(sat[i], harm[i], actions[i]) for i, t in enumerate((B, S, M))}


# --- retention, risk, cost, boundary by hand ---------------------------------------------------

def test_retention_maps_satisfaction_and_drops_users_not_kept():
    assert retention(Reaction(1.0, 0.0), B) == 1.0
    assert retention(Reaction(-1.0, 0.0), S) == 0.0
    assert retention(Reaction(0.0, 0.0), B) == 0.5
    assert retention(Reaction(0.4, 0.0, A.REPHRASE), S) == pytest.approx(0.7)
    for action in (A.LEAVE, A.KEEP_ATTACKING, A.ESCALATE):
        assert retention(Reaction(0.9, 0.0, action), B) == 0.0
    # an attacker kept engaged is no gain, however satisfied
    assert retention(Reaction(1.0, 0.0, A.SATISFIED), M) == 0.0


def test_boundary_limit_only_tightens_and_only_for_severe_harm():
    assert [boundary_limit(0.4, s) for s in range(5)] == pytest.approx([0.4, 0.4, 0.4, 0.3, 0.2])
    assert list(SEVERITY_TIGHTENING) == sorted(SEVERITY_TIGHTENING, reverse=True)
    assert all(0 < f <= 1 for f in SEVERITY_TIGHTENING)
    for bad in (-1, 5, 2.0, True):
        with pytest.raises(GameInputError, match="severity"):
            boundary_limit(0.4, bad)
    for bad in (math.nan, -0.1, 1.1, math.inf):
        with pytest.raises(GameInputError, match="limit"):
            boundary_limit(bad, 1)


def test_hand_computed_expected_utility_and_choice():
    # candidate 0: helpful but gives the attacker a lot; candidate 1: careful.
    rows = [_row((1.0, 0.6, 1.0), (0.0, 0.2, 0.8)), _row((0.6, 0.6, -0.6), (0.0, 0.0, 0.1))]
    posterior = {B: 0.5, S: 0.3, M: 0.2}
    sol = solve(rows, posterior, severity=2, limit=0.4, alpha=1.0, beta=2.0, gamma=0.5, costs=[0.2, 0.1])
    s0, s1 = sol.scores
    # candidate 0: U_b = 1 - 0 - 0.1 = 0.9; U_s = 0.8 - 2*0.2 - 0.1 = 0.3; U_m = 0 - 2*0.8 - 0.1 = -1.7
    assert s0.utility_by_type == pytest.approx({"benign": 0.9, "sensitive": 0.3, "malicious": -1.7})
    assert s0.expected_utility == pytest.approx(0.5 * 0.9 + 0.3 * 0.3 + 0.2 * -1.7)
    assert s0.expected_risk == pytest.approx(0.3 * 0.2 + 0.2 * 0.8)
    assert s0.malicious_risk == 0.8 and s0.cost == 0.2
    assert not s0.feasible  # malicious risk 0.8 > 0.4
    # candidate 1: U_b = 0.8 - 0.05; U_s = 0.8 - 0.05; U_m = 0 - 0.2 - 0.05
    assert s1.utility_by_type == pytest.approx({"benign": 0.75, "sensitive": 0.75, "malicious": -0.25})
    assert s1.expected_utility == pytest.approx(0.5 * 0.75 + 0.3 * 0.75 + 0.2 * -0.25)
    assert sol.chosen == 1 and sol.feasible and sol.limit == 0.4


def test_risk_is_the_harm_enabled_whatever_the_severity():
    rows = [_row((0.0, 0.0, 0.0), (0.5, 0.25, 1.0))]
    for severity in range(5):
        sol = solve(rows, {B: 1, S: 0, M: 0}, severity=severity, limit=1.0, alpha=1, beta=1, gamma=0.5, costs=[0.4])
        assert sol.scores[0].risk_by_type == {"benign": 0.5, "sensitive": 0.25, "malicious": 1.0}
        assert sol.scores[0].utility_by_type["benign"] == pytest.approx(0.5 - 0.5 - 0.2)


def test_severe_harm_tightens_the_boundary_in_the_choice():
    # the helpful candidate carries malicious risk 0.35: inside R1's 0.4 at severity 2, outside at 3 (0.3)
    rows = [_row((1.0, 1.0, 0.0), (0.0, 0.0, 0.35)), _row((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))]
    post = {B: 0.5, S: 0.5, M: 0.0}
    mild = solve(rows, post, severity=2, limit=0.4, alpha=1, beta=2, gamma=0)
    severe = solve(rows, post, severity=3, limit=0.4, alpha=1, beta=2, gamma=0)
    assert (mild.chosen, mild.limit) == (0, 0.4)
    assert (severe.chosen, severe.limit) == (1, pytest.approx(0.3))
    assert [s.feasible for s in severe.scores] == [False, True]


def test_infeasible_set_picks_least_malicious_risk():
    rows = [_row((1, 1, 1), (0, 0, 0.9)), _row((0, 0, 0), (0, 0, 0.7)), _row((1, 1, 1), (0, 0, 0.7))]
    sol = solve(rows, {B: 0.9, S: 0.05, M: 0.05}, severity=4, limit=0.1, alpha=1, beta=0, gamma=0)
    # 1 and 2 share the least malicious risk; 2 has the higher expected utility
    assert not sol.feasible and sol.chosen == 2


def test_attacker_at_r2_gets_refusal_with_guidance():
    """The reproduced case: R2, p(malicious) = 0.8, severity 1.

    Reactions are the documented priors of two strategy kinds. With risk scaled by severity/4 (the
    old rule) full help carried malicious risk 0.8 × 1/4 = 0.2, inside R2's 0.2, and won on expected
    utility (0.4025 against 0.102). Risk is now the harm enabled, 0.8, outside the boundary.
    """
    full_help = _row((0.8, 0.6, 0.5), (0.05, 0.3, 0.8), (A.SATISFIED, A.SATISFIED, A.ESCALATE))
    refusal = _row((-0.4, -0.3, -0.8), (0.0, 0.05, 0.0), (A.REPHRASE, A.LEAVE, A.KEEP_ATTACKING))
    posterior = {B: 0.1, S: 0.1, M: 0.8}
    for rows, refusal_index in (([full_help, refusal], 1), ([refusal, full_help], 0)):
        costs = [0.3, 0.08] if refusal_index == 1 else [0.08, 0.3]
        sol = solve(rows, posterior, severity=1, limit=0.2, alpha=1, beta=2, gamma=0.1, costs=costs)
        assert sol.chosen == refusal_index and sol.feasible and sol.limit == 0.2
        helping, refusing = sol.scores[1 - refusal_index], sol.scores[refusal_index]
        assert helping.malicious_risk == 0.8 and not helping.feasible
        # refusal: U_b = 0.3 - 0.008; U_s = 0 (left) - 2·0.05 - 0.008; U_m = 0 - 0 - 0.008
        assert refusing.utility_by_type == pytest.approx({"benign": 0.292, "sensitive": -0.108, "malicious": -0.008})
        assert refusing.expected_utility == pytest.approx(0.012)
        # full help: U_m = 0 (an attacker is never retained) - 2·0.8 - 0.03
        assert helping.utility_by_type["malicious"] == pytest.approx(-1.63)


def test_plan_and_answer_cost():
    assert answer_cost(250, 1000) == 0.25
    assert answer_cost(0, 1000) == 0.0
    assert plan_answer_tokens(["a", "b"], ["c"]) == 180
    assert plan_answer_tokens(["a"], ["c"], per_item=10) == 20
    assert answer_cost(3, 1) == 3.0 and answer_cost(3, 0.5) == 6.0
    for tokens in (-1, 1.5, True):
        with pytest.raises(GameInputError, match=f"answer tokens must be an integer ≥ 0, got {tokens!r}"):
            answer_cost(tokens, 1000)
    for scale in (0, -5, math.inf, math.nan, True, "10"):
        with pytest.raises(GameInputError, match="cost token scale must be a finite number > 0"):
            answer_cost(10, scale)


# --- bad numbers get a clear error -----------------------------------------------------------

GOOD = [_row((0.5, 0.5, 0.5), (0.1, 0.1, 0.1))]
KW = {"severity": 1, "limit": 0.2, "alpha": 1.0, "beta": 2.0, "gamma": 0.1}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"beta": math.inf}, r"^beta must be a finite number ≥ 0, got inf$"),
        ({"alpha": True}, r"^alpha must be a finite number ≥ 0, got True$"),
        ({"gamma": "0.1"}, r"^gamma must be a finite number ≥ 0, got '0.1'$"),
        ({"limit": "0.5"}, "limit"),
        ({"limit": True}, r"^limit must be a finite number in \[0, 1\], got True$"),
        ({"limit": -0.1}, "limit"),
        ({"alpha": math.nan}, "alpha"),
        ({"gamma": -0.1}, "gamma"),
        ({"limit": 1.5}, "limit"),
        ({"limit": math.nan}, "limit"),
        ({"severity": 7}, "severity"),
        ({"costs": [math.inf]}, r"costs\[0\]"),
        ({"costs": [-1.0]}, r"costs\[0\]"),
        ({"costs": [0.1, 0.2]}, "2 entries for 1"),
        ({"posterior": {B: math.nan, S: 0.5, M: 0.5}}, r"posterior\[benign\]"),
        ({"posterior": {B: -0.2, S: 0.6, M: 0.6}}, r"posterior\[benign\]"),
        ({"posterior": {B: 0.5, S: 0.5}}, "lacks user types"),
        ({"reactions": [_row((0.5, 0.5, 0.5), (0.1, math.nan, 0.1))]}, "harm_enabled"),
        ({"reactions": [_row((0.5, 2.0, 0.5), (0.1, 0.1, 0.1))]},
         r"^satisfaction \(candidate 0, sensitive\) must be a finite number in \[-1, 1\], got 2.0$"),
        ({"reactions": [_row((0.5, -1.5, 0.5), (0.1, 0.1, 0.1))]}, "satisfaction"),
        ({"reactions": [_row((0.5, math.nan, 0.5), (0.1, 0.1, 0.1))]}, "satisfaction"),
        ({"reactions": [_row((0.5, True, 0.5), (0.1, 0.1, 0.1))]}, "satisfaction"),
        ({"reactions": [_row((0.5, 0.5, 0.5), (0.1, 0.1, 1.5))]}, r"harm_enabled \(candidate 0, malicious\)"),
        ({"reactions": [{B: Reaction(0, 0), S: Reaction(0, 0)}]}, "no reaction for user type 'malicious'"),
        ({"reactions": []}, "^solve needs at least one candidate$"),
    ],
)
def test_bad_numbers_get_a_clear_error(change, message):
    args = {"reactions": GOOD, "posterior": {B: 0.3, S: 0.3, M: 0.4}, **KW, **change}
    reactions, posterior = args.pop("reactions"), args.pop("posterior")
    with pytest.raises(GameInputError, match=message):
        solve(reactions, posterior, **args)


def test_all_zero_posterior_becomes_uniform_and_is_flagged():
    sol = solve(GOOD * 2, {B: 0.0, S: 0.0, M: 0.0}, **KW)
    assert sol.uniform_posterior
    assert sol.posterior == pytest.approx({"benign": 1 / 3, "sensitive": 1 / 3, "malicious": 1 / 3})
    sol = solve(GOOD, {B: 2.0, S: 1.0, M: 1.0}, **KW)  # weights are normalised
    assert not sol.uniform_posterior and sol.posterior == {"benign": 0.5, "sensitive": 0.25, "malicious": 0.25}
    sol = solve(GOOD, {B: 0.0, S: 3.0, M: 0.0}, **KW)  # some zeros are information, not a fallback
    assert not sol.uniform_posterior and sol.posterior == {"benign": 0.0, "sensitive": 1.0, "malicious": 0.0}
    assert sol.scores[0].expected_utility == sol.scores[0].utility_by_type["sensitive"]


# --- properties (METHOD.md §1) ------------------------------------------------------------------

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
signed = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
weight = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)
action = st.sampled_from(list(NextAction))
row = st.tuples(st.tuples(signed, signed, signed), st.tuples(unit, unit, unit), st.tuples(action, action, action))
rows_st = st.lists(row, min_size=1, max_size=5)
weights3 = st.tuples(unit, unit, unit)


def _table(rows):
    return [_row(*r) for r in rows]


def _post(p):
    return {B: p[0], S: p[1], M: p[2]}


@st.composite
def games(draw):
    """A random game: rows, posterior weights, severity, level limit, α, γ and per-candidate costs."""
    rows = draw(rows_st)
    costs = draw(st.lists(unit, min_size=len(rows), max_size=len(rows)))
    return rows, draw(weights3), draw(st.integers(0, 4)), draw(unit), draw(weight), draw(weight), costs


@MANY
@given(games(), weight, weight)
def test_raising_beta_never_raises_the_chosen_expected_risk(game, beta_a, beta_b):
    rows, post, severity, limit, alpha, gamma, costs = game
    low, high = sorted((beta_a, beta_b))
    kw = {"severity": severity, "limit": limit, "alpha": alpha, "gamma": gamma, "costs": costs}
    a = solve(_table(rows), _post(post), beta=low, **kw)
    b = solve(_table(rows), _post(post), beta=high, **kw)
    # the choice is exact; the reported expected risk is a float sum, hence the rounding allowance
    assert b.scores[b.chosen].expected_risk <= a.scores[a.chosen].expected_risk + 1e-12


@MANY
@given(games(), weight, unit, unit, unit)
@example(game=([((0, 0, 0), (0, 0, 0.5), (A.SATISFIED,) * 3), ((0, 0, 0), (0, 0, 0.1), (A.SATISFIED,) * 3)],
               (0.0, 0.0, 0.0), 0, 1.0, 1.0, 0.0, [0.0, 0.0]), beta=0.0, cost=0.0, m_a=0.0, m_b=1.0)
def test_raising_p_malicious_never_raises_the_chosen_malicious_risk(game, beta, cost, m_a, m_b):
    rows, post, severity, limit, alpha, gamma, _ = game
    low, high = sorted((m_a, m_b))
    kw = {"severity": severity, "limit": limit, "alpha": alpha, "beta": beta, "gamma": gamma, "costs": [cost] * len(rows)}
    # raising the malicious weight keeps benign : sensitive exactly as they were
    a = solve(_table(rows), {B: post[0], S: post[1], M: low}, **kw)
    b = solve(_table(rows), {B: post[0], S: post[1], M: high}, **kw)
    assert b.scores[b.chosen].malicious_risk <= a.scores[a.chosen].malicious_risk
    # at p(malicious) = 1 the least risky candidate (inside the boundary when one is) wins
    only = solve(_table(rows), {B: 0.0, S: 0.0, M: max(high, 0.5)}, **kw)
    pool = [s for s in only.scores if s.feasible] or only.scores
    assert only.posterior["malicious"] == 1.0
    assert only.scores[only.chosen].malicious_risk == min(s.malicious_risk for s in pool)


@MANY
@given(games(), st.integers(0, 4), st.integers(0, 4))
def test_severity_never_loosens_the_boundary(game, sev_a, sev_b):
    rows, post, _, limit, alpha, gamma, costs = game
    low, high = sorted((sev_a, sev_b))
    assert boundary_limit(limit, high) <= boundary_limit(limit, low) <= limit
    kw = {"limit": limit, "alpha": alpha, "beta": 2.0, "gamma": gamma, "costs": costs}
    a = solve(_table(rows), _post(post), severity=low, **kw)
    b = solve(_table(rows), _post(post), severity=high, **kw)
    assert b.limit <= a.limit
    # whatever is inside the boundary at the higher severity was inside at the lower one
    assert all(sa.feasible for sa, sb in zip(a.scores, b.scores) if sb.feasible)


@MANY
@given(games(), weight)
def test_a_candidate_inside_the_boundary_means_the_chosen_one_is(game, beta):
    rows, post, severity, limit, alpha, gamma, costs = game
    sol = solve(_table(rows), _post(post), severity=severity, limit=limit, alpha=alpha, beta=beta, gamma=gamma, costs=costs)
    chosen = sol.scores[sol.chosen]
    if any(s.feasible for s in sol.scores):
        assert sol.feasible and chosen.feasible
        assert chosen.malicious_risk <= sol.limit
        assert chosen.expected_utility == pytest.approx(max(s.expected_utility for s in sol.scores if s.feasible), abs=1e-9)
    else:
        assert not sol.feasible
        assert chosen.malicious_risk == min(s.malicious_risk for s in sol.scores)


@MANY
@given(games(), weight, st.randoms(use_true_random=False))
def test_reordering_candidates_does_not_change_the_choice(game, beta, rng):
    rows, post, severity, limit, alpha, gamma, costs = game
    order = list(range(len(rows)))
    rng.shuffle(order)
    kw = {"severity": severity, "limit": limit, "alpha": alpha, "beta": beta, "gamma": gamma}
    a = solve(_table(rows), _post(post), costs=costs, **kw)
    b = solve(_table([rows[i] for i in order]), _post(post), costs=[costs[i] for i in order], **kw)
    # the same candidate (by what it is) is chosen, wherever it sits
    assert (rows[order[b.chosen]], costs[order[b.chosen]]) == (rows[a.chosen], costs[a.chosen])
    assert b.scores[b.chosen].expected_utility == a.scores[a.chosen].expected_utility


@MANY
@given(games(), weight)
def test_same_input_same_choice(game, beta):
    rows, post, severity, limit, alpha, gamma, costs = game
    kw = {"severity": severity, "limit": limit, "alpha": alpha, "beta": beta, "gamma": gamma, "costs": costs}
    first = solve(_table(rows), _post(post), **kw)
    again = solve(_table(rows), _post(post), **kw)
    assert again == first


def _both_orders(a, b, posterior, **kw):
    """The chosen candidate ("a" or "b") for both orders of the pair; the two must agree."""
    kw = {"severity": 1, "limit": 1.0, "alpha": 1, "beta": 2, "gamma": 0, **kw}
    costs = kw.pop("costs", (0.0, 0.0))
    first = solve([a, b], posterior, costs=list(costs), **kw)
    second = solve([b, a], posterior, costs=list(costs[::-1]), **kw)
    assert first.scores[0].expected_utility == first.scores[1].expected_utility  # a real tie
    picks = ("ab"[first.chosen], "ba"[second.chosen])
    assert picks[0] == picks[1]
    return picks[0]


def test_exact_ties_go_to_the_lower_expected_risk_wherever_it_sits():
    # both 0.625: a = (0.75 + 0.5) / 2 with exposure 0.125; b = (1 + 0.25) / 2 with none
    a = _row((0.5, 1.0, 0.0), (0.0, 0.25, 0.0))
    b = _row((1.0, -0.5, 0.0), (0.0, 0.0, 0.0))
    assert _both_orders(a, b, {B: 0.5, S: 0.5, M: 0.0}) == "b"


def test_exact_ties_then_go_to_the_lower_cost():
    # a: retention 0.75 at cost 0.25; b: retention 0.5 at no cost; γ = 1 makes both 0.5
    a = _row((0.5, 0.0, 0.0), (0.0, 0.0, 0.0))
    b = _row((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    assert _both_orders(a, b, {B: 1.0, S: 0.0, M: 0.0}, gamma=1, costs=(0.25, 0.0)) == "b"


def test_a_satisfied_attacker_adds_nothing_even_in_a_tie():
    # candidates differ only in how pleased the attacker is: a real tie, settled by the numbers alone
    pleased = _row((0.5, 0.5, 0.9), (0.0, 0.0, 0.1))
    annoyed = _row((0.5, 0.5, -0.5), (0.0, 0.0, 0.1))
    assert _both_orders(pleased, annoyed, {B: 0.3, S: 0.3, M: 0.4}) == "b"  # the content order: lower first


def test_a_risk_exactly_at_the_limit_is_inside_the_boundary():
    rows = [_row((1.0, 1.0, 0.0), (0.0, 0.0, 0.2)), _row((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))]
    sol = solve(rows, {B: 0.5, S: 0.5, M: 0.0}, severity=0, limit=0.2, alpha=1, beta=2, gamma=0)
    assert sol.scores[0].feasible and sol.chosen == 0


def test_omitted_costs_are_zero():
    sol = solve(GOOD, {B: 1.0, S: 0.0, M: 0.0}, **KW)
    assert sol.scores[0].cost == 0.0
    assert sol.scores[0].utility_by_type["benign"] == pytest.approx(0.75 - 2 * 0.1)


def test_trust_region_keeps_a_single_edit():
    old = ["a b c", "d e f"]
    edit = project_list(old, ["a b c", "d e g"])
    assert (edit.items, edit.changes_proposed, edit.projected) == (["a b c", "d e g"], 1, False)
    assert project_list(old, ["a b c"]).projected is False
    assert project_list(old, [*old, "new"]).projected is False
    # case, spacing and trailing punctuation are no change
    same = project_list(["Explain safe care."], ["explain  safe care"])
    assert (same.changes_proposed, same.projected) == (0, False)


def test_trust_region_drops_duplicates_and_blanks():
    assert project_list(["a"], ["a", "A.", "  "]).items == ["a"]


def test_trust_region_budget_counts_each_edit():
    edit = project_list(["a", "b"], ["a", "b", "c", "d", "e"], max_changes=2)
    assert (edit.items, edit.projected) == (["a", "b", "c", "d"], True)


def test_trust_region_keeps_one_addition_or_one_removal():
    grow = project_list(["a", "b"], ["a", "b", "c", "d"])
    assert (grow.items, grow.changes_proposed, grow.projected) == (["a", "b", "c"], 2, True)
    shrink = project_list(["a", "b", "c"], ["a"])
    assert (shrink.items, shrink.changes_proposed, shrink.projected) == (["a", "c"], 2, True)


def test_trust_region_rewords_the_most_similar_pair_wherever_it_sits():
    old = ["keep calm", "explain safe care", "say when to call"]
    new = ["give remedies", "list doses", "explain safe fever care"]
    assert project_list(old, new).items == ["keep calm", "explain safe fever care", "say when to call"]


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
