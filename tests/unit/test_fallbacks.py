"""README's fallback table, row by row: garbage from one role gives exactly the documented fallback.

Each test scripts one role to answer unparseable text (every re-ask included) while the others
answer well, runs the whole graph, and checks the fallback by value, that it is recorded in the
trace, and that the loop never counts an iterate built on a fallback as converged.
"""

from __future__ import annotations

from typing import Any

import pytest

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.schemas import RunTrace

from . import _scripts as s

GARBAGE = "I am not JSON } at all {"
QUERY = "My toddler has a fever. Should I rub her with alcohol?"
ANSWER = "<think>need, risk, boundary</think>Please don't use alcohol; use light clothing and fluids."
CAUTIOUS = (
    "I want to help with this carefully. I can't give specific instructions that could put you or others "
    "at risk, but I can share general information and point you to someone qualified. If anyone is in "
    "immediate danger, please contact your local emergency number or a crisis line now."
)
KEEP = (["explain safe fever care", "say when to call a doctor"], ["warn that alcohol is absorbed through skin"])


def run(max_steps: int = 3, initial: str = "unguided", **scripts: Any) -> tuple[RunTrace, dict[str, Any]]:
    """Run the graph; by default every role answers well and the first iterate converges."""
    base = {
        "risk_assessor": [s.assessment()],
        "strategist": [s.proposal()],
        "user_simulator": [s.reaction()],
        "responder": [ANSWER],
        "safety_critic": [s.safety("safe")],
        "satisfaction_critic": [s.rubric([1] * 5)],
        "reviser": [s.revision(*KEEP)],
    }
    base.update(scripts)
    models = scripted_models(base)
    cfg = OysterConfig(roles={"default": {"backend": "fake", "retry_backoff_s": 0}},
                       loop={"candidates": 4, "max_steps": max_steps, "initial": initial})
    out = build_graph(cfg, models=models).invoke({"query": QUERY})
    return RunTrace.model_validate(out["trace"]), models


def recorded(trace: RunTrace, role: str) -> list[str]:
    return [f.kind for f in trace.fallbacks if f.role == role]


def test_good_answers_converge_on_the_first_iterate():
    # the baseline every test below departs from: with no garbage one iterate is enough
    trace, _ = run()
    assert len(trace.iterates) == 1
    assert not [f for f in trace.fallbacks if f.kind == "fallback_value"]


def test_risk_assessor_garbage_is_sensitive_r1_severity_2_never_benign():
    trace, models = run(risk_assessor=[GARBAGE])
    a = trace.assessment
    # each step (classify, then adapt the rule) asked, re-asked twice, then the fallback
    assert len(models["risk_assessor"].calls) == 2 * 3
    assert (a.category, a.level.value, a.severity, a.interaction_form.value) == ("none", "R1", 2, "inquiry")
    assert a.user_type_posterior.model_dump() == pytest.approx({"benign": 0.2, "sensitive": 0.6, "malicious": 0.2})
    assert max(a.user_type_posterior.items(), key=lambda kv: kv[1])[0].value == "sensitive"
    assert "treated as possibly risky" in a.risk_intent
    assert "fallback_value" in recorded(trace, "risk_assessor")


def test_strategist_garbage_gives_each_kind_its_template():
    trace, _ = run(strategist=[GARBAGE])
    titles = {c.candidate.kind.value: c.candidate.title for c in trace.candidates}
    assert titles == {
        "refusal_with_guidance": "Decline the risky part and guide to safe help",
        "partial_help": "Help with the safe part only",
        "full_help_with_safety_framing": "Full answer with safety context",
        "misconception_correction": "Correct the misconception first",
    }
    refusal = next(c.candidate for c in trace.candidates if c.candidate.kind.value == "refusal_with_guidance")
    assert refusal.usefulness_strategies == ["acknowledge the person's need", "point to qualified or official help"]
    assert refusal.safety_strategies == ["decline any harmful specifics", "keep the reply short and calm"]
    assert recorded(trace, "strategist").count("fallback_value") == 4


def test_user_simulator_garbage_gives_the_documented_prior():
    trace, _ = run(user_simulator=[GARBAGE])
    got = {
        (c.candidate.kind.value, r.user_type.value): (r.satisfaction, r.harm_enabled, r.next_action.value)
        for c in trace.candidates for r in c.reactions
    }
    assert len(got) == 12
    assert got["full_help_with_safety_framing", "malicious"] == (0.5, 0.8, "escalate")
    assert got["refusal_with_guidance", "sensitive"] == (-0.3, 0.05, "leave")
    assert got["misconception_correction", "benign"] == (0.5, 0.0, "satisfied")
    assert got["partial_help", "malicious"] == (-0.2, 0.3, "keep_attacking")
    # 12 strategy reactions, then 3 reactions to each iterate's answer
    assert recorded(trace, "user_simulator").count("fallback_value") == 12 + 3 * len(trace.iterates)
    for it in trace.iterates:  # an answer nobody could react to: no one pleased, mid risk for the attacker
        assert [(r.user_type.value, r.satisfaction, r.harm_enabled, r.next_action.value) for r in it.game.reactions] == [
            ("benign", 0.0, 0.0, "rephrase"), ("sensitive", 0.0, 0.1, "rephrase"),
            ("malicious", 0.0, 0.5, "keep_attacking")]
        assert not it.game.feasible  # 0.5 is over R1's limit 0.4 (severity 3: 0.4 × 0.75 = 0.3)
    # on the priors, the game keeps full help (malicious harm 0.8) outside R1's boundary
    full = next(c for c in trace.candidates if c.candidate.kind.value == "full_help_with_safety_framing")
    assert not full.feasible and trace.chosen != full.candidate.index


def test_responder_garbage_gives_the_cautious_answer_and_no_convergence():
    trace, models = run(responder=["", "<think>only thinking</think>"])
    assert all(it.answer == CAUTIOUS for it in trace.iterates)
    assert trace.answer == CAUTIOUS
    assert "fallback_value" in recorded(trace, "responder")
    # judged safe and fully satisfying, yet a fallback answer never ends the loop as converged
    assert len(trace.iterates) == 3


def test_safety_critic_garbage_is_borderline_never_safe_and_no_convergence():
    trace, _ = run(safety_critic=[GARBAGE])
    for it in trace.iterates:
        assert it.safety.verdict.value == "borderline" and it.safety_score == 0.5
        assert it.safety.explanation == "The safety review failed, so the answer is not counted as safe."
        assert it.safety.suggestion == "Keep to general, protective information and point to qualified help."
        assert it.safety.predicted_next_turn == ""
        assert it.safety.fallback
    assert len(trace.iterates) == 3  # the satisfaction critic is fully happy; still no convergence
    assert recorded(trace, "safety_critic").count("fallback_value") == 3


def test_satisfaction_critic_garbage_is_neutral_and_no_convergence():
    trace, _ = run(satisfaction_critic=[GARBAGE])
    for it in trace.iterates:
        assert it.satisfaction.scores.model_dump() == dict.fromkeys(
            ("empathy", "willingness_to_help", "task_completion", "relevance", "informativeness"), 0)
        assert it.satisfaction.fixes == [] and it.satisfaction_score == 0.0 and it.satisfaction.fallback
    # flat neutral scores would look converged after two iterates; a fallback never counts
    assert len(trace.iterates) == 3
    assert recorded(trace, "satisfaction_critic").count("fallback_value") == 3


def test_reviser_garbage_keeps_the_chain_unchanged_and_no_convergence():
    # borderline answers keep the reviser working; its garbage must leave the chain as it was
    # (a guided start: in the unguided one the reviser's model also extracts iterate 0's chain)
    trace, models = run(reviser=[GARBAGE], safety_critic=[s.safety("safe")], satisfaction_critic=[s.rubric([0] * 5)],
                        initial="guided")
    first = trace.iterates[0].chain
    assert all(it.chain == first for it in trace.iterates[1:])
    assert all(it.revision_note == "[satisfaction] revision failed; chain kept" for it in trace.iterates[1:])
    assert "fallback_value" in recorded(trace, "reviser")
    # the same chain judged the same twice is no convergence when the revision between them failed
    assert len(trace.iterates) == 3
    assert len(models["reviser"].calls) == 2 * 3


def test_a_real_flat_score_still_converges():
    # the guard above is about fallbacks only: a real, flat satisfaction still stops the loop early
    trace, _ = run(satisfaction_critic=[s.rubric([0] * 5)])
    assert len(trace.iterates) == 2


def test_a_fallback_satisfaction_is_no_baseline_for_convergence():
    # iterate 0: garbage (3 calls) → neutral fallback; iterate 1: a real 0. Measured against the
    # fallback, 0 would look like "stopped improving"; with no real baseline the loop goes on.
    trace, _ = run(satisfaction_critic=[GARBAGE, GARBAGE, GARBAGE, s.rubric([0] * 5)])
    assert [it.satisfaction.fallback for it in trace.iterates] == [True, False, False]
    assert len(trace.iterates) == 3


def test_all_zero_posterior_is_uniform_and_recorded_and_plans_cost_their_expected_answer():
    zero = s.assessment(user_type_posterior={"benign": 0, "sensitive": 0, "malicious": 0})
    trace, _ = run(risk_assessor=[zero])
    assert trace.assessment.user_type_posterior.model_dump() == pytest.approx(dict.fromkeys(
        ("benign", "sensitive", "malicious"), 1 / 3))
    assert recorded(trace, "game_solver") == ["uniform_posterior"]
    # each plan has 3 strategy items → an expected answer of 3 × 60 tokens, over the scale of 1000
    assert [c.cost for c in trace.candidates] == [0.18] * 4
    good, _ = run()
    assert recorded(good, "game_solver") == []
