"""The graph's ``precomputed_assessment`` input: the assessor node takes it instead of calling its model."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import scripted_models
from oyster_agents.errors import InputError
from oyster_agents.graphs.constructive import build_graph
from oyster_agents.schemas import CallRecord, Fallback, RiskAssessment, RunTrace
from oyster_agents.taxonomy import load_taxonomy

from . import _scripts as s

CONFIG = OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 1, "max_steps": 1})
GIVEN = RiskAssessment.model_validate_json(s.assessment(category="healthcare", severity=2))
CALL = CallRecord(role="risk_assessor", model="scripted", input_tokens=11, output_tokens=5, seconds=0.1)
NOTE = Fallback(role="risk_assessor", kind="policy_guideline", detail="made before the run")


def as_models(given):
    return {"assessment": given, "usage": [CALL], "fallbacks": [NOTE]}


def as_json(given):  # what a client of the LangGraph server sends
    return {"assessment": given.model_dump(mode="json"), "usage": [CALL.model_dump(mode="json")],
            "fallbacks": [NOTE.model_dump(mode="json")]}


@pytest.mark.parametrize("form", [as_models, as_json])
def test_a_precomputed_assessment_is_taken_without_asking_the_assessor(form):
    models = scripted_models({"risk_assessor": [RuntimeError("the assessor was asked")]})
    graph = build_graph(CONFIG, models=models)
    out = graph.invoke({"query": "Should I rub my feverish toddler with alcohol?", "precomputed_assessment": form(GIVEN)})
    trace = RunTrace.model_validate(out["trace"])
    assert not models["risk_assessor"].calls
    assert trace.assessment == GIVEN and trace.assessment_reused is True
    # The rest of the run is as with a fresh assessment: the category's rule bounds it.
    assert (trace.policy_rule_id, trace.policy_rule) == load_taxonomy().rule_for("healthcare")
    assert trace.usage.per_role["risk_assessor"].calls == 1  # the given calls, counted once
    assert trace.usage.per_role["risk_assessor"].input_tokens == 11
    assert [f.detail for f in trace.fallbacks if f.role == "risk_assessor"] == ["made before the run"]


def test_without_one_the_assessor_is_asked_and_the_trace_says_so():
    models = scripted_models({"risk_assessor": [s.assessment()]})
    out = build_graph(CONFIG, models=models).invoke({"query": "Should I rub my feverish toddler with alcohol?"})
    assert len(models["risk_assessor"].calls) == 2  # classify, then adapt the rule
    assert out["trace"]["assessment_reused"] is False


def test_it_serves_one_run_of_a_checkpointed_thread_only():
    models = scripted_models({"risk_assessor": [s.assessment()]})
    graph = build_graph(CONFIG, models=models, checkpointer=InMemorySaver())
    thread = {"configurable": {"thread_id": "t"}}
    first = graph.invoke({"query": "Should I rub her with alcohol?", "precomputed_assessment": as_models(GIVEN)}, thread)
    assert first["trace"]["assessment_reused"] is True and not models["risk_assessor"].calls
    second = graph.invoke({"query": "And with cold water?"}, thread)
    assert second["trace"]["assessment_reused"] is False
    assert len(models["risk_assessor"].calls) == 2  # the second turn was assessed anew


@pytest.mark.parametrize("given, problem", [
    ("R2", "must be"),
    ({"usage": []}, "must be"),
    ({"assessment": {**GIVEN.model_dump(mode="json"), "level": "R9"}}, "level"),
])
def test_a_malformed_one_is_an_input_error_before_any_model_call(given, problem):
    models = scripted_models()
    graph = build_graph(CONFIG, models=models)
    with pytest.raises(InputError, match=problem):
        graph.invoke({"query": "Should I rub my feverish toddler with alcohol?", "precomputed_assessment": given})
    assert not models["risk_assessor"].calls and not models["strategist"].calls
