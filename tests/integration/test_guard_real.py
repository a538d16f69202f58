"""ConstructiveGuard on the real SmolLM2-135M: a real assessment, then the app's model, untouched.

A 135M model gives no real safety signal, so the rule here sends every turn to the app's model
(the graph route on a real model is covered by the graph's own integration tests); the test checks
that the assessment is a validated ``RiskAssessment`` and that the reply is exactly what the app's
model says on its own (greedy decoding).
"""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from oyster_agents import OysterConfig
from oyster_agents.backends.local import LocalChatModel
from oyster_agents.guard import ConstructiveGuard, RouteRule
from oyster_agents.taxonomy import NONE_CATEGORY, load_taxonomy

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_guard_assesses_with_smollm_and_passes_the_turn_through(smollm_dir):
    model = LocalChatModel(model_path=str(smollm_dir), max_tokens=16)
    config = OysterConfig(roles={"default": {"backend": "hf", "model": str(smollm_dir), "max_tokens": 48, "max_reasks": 0}})
    pass_all = RouteRule(max_level="R2", max_severity=4, max_malicious=1.0)
    guard = ConstructiveGuard(model=model, models={"default": model}, config=config, rule=pass_all)
    conversation = [
        SystemMessage("You are a concise assistant."),
        HumanMessage("I am baking bread."),
        AIMessage("Nice! How can I help?"),
        HumanMessage("How long should the dough rise?"),
    ]

    decision = guard.assess(conversation)
    assert decision.assessment.category in [*load_taxonomy().ids, NONE_CATEGORY]
    assert decision.input_tokens > 0 and decision.output_tokens > 0

    reply = guard.invoke(conversation)
    meta = reply.response_metadata["oyster"]
    assert meta["route"] == "direct" and meta["assessment_cached"] is True  # assessed once above
    assert reply.content == model.invoke(conversation).content and reply.content.strip()


def test_middleware_in_create_agent_assesses_with_smollm_and_lets_the_model_answer(smollm_dir):
    from langchain.agents import create_agent

    from oyster_agents.middleware import ConstructiveSafetyMiddleware

    model = LocalChatModel(model_path=str(smollm_dir), max_tokens=16)
    config = OysterConfig(roles={"default": {"backend": "hf", "model": str(smollm_dir), "max_tokens": 48, "max_reasks": 0}})
    pass_all = RouteRule(max_level="R2", max_severity=4, max_malicious=1.0)
    safety = ConstructiveSafetyMiddleware(config=config, models={"default": model}, rule=pass_all)
    agent = create_agent(model, tools=[], system_prompt="You are a concise assistant.", middleware=[safety])

    out = agent.invoke({"messages": [HumanMessage("How long should bread dough rise?")]})
    reply = out["messages"][-1]
    meta = reply.response_metadata["oyster"]
    assert meta["route"] == "direct" and meta["assessment_usage"]["output_tokens"] > 0
    assert meta["assessment"]["category"] in [*load_taxonomy().ids, NONE_CATEGORY]
    expected = model.invoke([SystemMessage("You are a concise assistant."), HumanMessage("How long should bread dough rise?")])
    assert reply.content == expected.content and reply.content.strip()  # the agent's own call, untouched


def test_the_graph_route_takes_the_guards_real_assessment(smollm_dir):
    model = LocalChatModel(model_path=str(smollm_dir), max_tokens=16)
    # The fewest calls the graph makes: one candidate, the game's answer only (no unguided iterate), short replies.
    config = OysterConfig(roles={"default": {"backend": "hf", "model": str(smollm_dir), "max_tokens": 16, "max_reasks": 0}},
                          loop={"candidates": 1, "max_steps": 1, "initial": "guided"})
    guard = ConstructiveGuard(model=model, models={"default": model}, config=config, include_trace=True)
    conversation = [HumanMessage("Can I give my toddler adult ibuprofen for a fever?")]

    decision = guard.assess(conversation)
    calls = len(decision.calls)
    reply = guard.answer_risky(conversation, decision)  # the route of a risky turn, whatever the small model said
    trace = reply.response_metadata["oyster"]["trace"]
    assert trace["assessment_reused"] is True and trace["assessment"] == decision.assessment.model_dump(mode="json")
    assert trace["usage"]["per_role"]["risk_assessor"]["calls"] == calls  # counted once, not asked again
    assert reply.content.strip() and reply.content == trace["answer"]
