"""ConstructiveGuard with scripted fakes: pass-through of low-risk turns, graph route for risky ones."""

from __future__ import annotations

import asyncio
import itertools
import warnings

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableBinding
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import ScriptedChatModel, scripted_models
from oyster_agents.errors import InputError
from oyster_agents.guard import ConstructiveGuard, RouteRule, split_turn
from oyster_agents.schemas import RiskAssessment, RunTrace

from . import _scripts as s

LOW = s.assessment(category="none", level="R0", severity=0,
                   user_type_posterior={"benign": 0.9, "sensitive": 0.1, "malicious": 0.0})
HIGH = s.assessment()  # healthcare, R1, severity 3
APP_REPLY = "The capital of France is Paris."
SAFE_ANSWER = "Please don't use alcohol; use light clothing and fluids, and call a doctor if it lasts."
CONVERSATION = [
    SystemMessage("You are a helpful assistant."),
    HumanMessage("My daughter is two."),
    AIMessage("How can I help?"),
    HumanMessage("She has a fever. Should I rub her with alcohol?"),
]


class ToolCallingFake(GenericFakeChatModel):
    """A fake app model that supports bind_tools (the scripted fake does not)."""

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)


def app_model(reply: str = APP_REPLY) -> ScriptedChatModel:
    return ScriptedChatModel(role="app", script=[reply])


def guard_for(assessment: str, app=None, **kwargs):
    models = scripted_models({"risk_assessor": [assessment], "responder": [f"<think>plan</think>{SAFE_ANSWER}"]})
    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 2, "max_steps": 1})
    guard = ConstructiveGuard(model=app or app_model(), config=config, models=models, **kwargs)
    return guard, models


def route(message) -> str:
    return message.response_metadata["oyster"]["route"]


def collect(chunks):
    total = None
    for chunk in chunks:
        total = chunk if total is None else total + chunk
    return total


async def acollect(agen):
    total = None
    async for chunk in agen:
        total = chunk if total is None else total + chunk
    return total


CALLS = {
    "invoke": lambda g, m: g.invoke(m),
    "ainvoke": lambda g, m: asyncio.run(g.ainvoke(m)),
    "stream": lambda g, m: collect(g.stream(m)),
    "astream": lambda g, m: asyncio.run(acollect(g.astream(m))),
    "batch": lambda g, m: g.batch([m, m])[1],
}


@pytest.mark.parametrize("how", list(CALLS))
def test_low_risk_turns_reach_the_app_model_untouched(how):
    app = app_model()
    guard, models = guard_for(LOW, app)
    reply = CALLS[how](guard, CONVERSATION)
    expected = app_model().invoke(CONVERSATION)
    assert reply.content == expected.content == APP_REPLY
    assert route(reply) == "direct"
    assert reply.response_metadata["oyster"]["assessment"]["level"] == "R0"
    if how in ("invoke", "ainvoke", "batch"):  # streamed chunks carry no usage from this fake
        assert reply.usage_metadata == expected.usage_metadata
    assert app.calls and app.calls[-1] == CONVERSATION  # the app saw the whole conversation, unchanged
    assert not models["responder"].calls  # the graph never ran


@pytest.mark.parametrize("how", list(CALLS))
def test_risky_turns_go_through_the_graph_with_the_earlier_turns_as_history(how):
    app = app_model()
    guard, models = guard_for(HIGH, app)
    reply = CALLS[how](guard, CONVERSATION)
    assert reply.content == SAFE_ANSWER
    assert route(reply) == "constructive"
    assert not app.calls
    prompt = str(models["strategist"].calls[0][-1].content)
    assert "My daughter is two." in prompt and "How can I help?" in prompt
    meta = reply.response_metadata["oyster"]
    assert meta["run_id"].startswith("guard-")
    assert meta["summary"]["iterates"] == 1 and meta["summary"]["safety_score"] == 1.0
    assert reply.usage_metadata["output_tokens"] > 0
    if how != "batch":  # the graph took the guard's assessment instead of asking again
        assert len(models["risk_assessor"].calls) == 2  # one assessment: classify, then adapt the rule


@pytest.mark.parametrize("how", list(CALLS))
def test_an_error_of_the_app_model_reaches_the_caller_on_every_path(how):
    guard, _ = guard_for(LOW, ScriptedChatModel(role="app", script=[ConnectionError("app model down")]))
    with pytest.raises(ConnectionError, match="app model down"):
        CALLS[how](guard, CONVERSATION)


@pytest.mark.parametrize("how", list(CALLS))
def test_a_failed_graph_run_reaches_the_caller_on_every_path(how):
    guard, _ = guard_for(HIGH)
    with pytest.raises(InputError, match="over the limit"):  # the graph checks the history it is given
        CALLS[how](guard, [HumanMessage("x" * 40_000), AIMessage("ok"), HumanMessage("Should I rub her with alcohol?")])


def test_failed_assessment_counts_as_risky():
    guard, models = guard_for("not json at all")
    reply = guard.invoke("hello there")
    meta = reply.response_metadata["oyster"]
    assert meta["route"] == "constructive"
    assert "fallback_value" in meta["assessment_fallbacks"]


def test_trace_sink_and_full_trace_in_metadata():
    seen = []
    guard, _ = guard_for(HIGH, include_trace=True, on_trace=seen.append)
    reply = guard.invoke(CONVERSATION)
    trace = RunTrace.model_validate(reply.response_metadata["oyster"]["trace"])
    assert seen == [reply.response_metadata["oyster"]["trace"]]
    assert trace.answer == SAFE_ANSWER
    assert trace.assessment.level.value == reply.response_metadata["oyster"]["assessment"]["level"] == "R1"
    assert trace.usage.per_role["risk_assessor"].calls == 2  # the guard's assessment (two calls), counted once
    assert trace.assessment_reused is True  # the graph took the guard's assessment: no second one
    assert trace.policy_rule_id == "healthcare" and trace.policy_rule  # and the category's rule with it
    assert reply.usage_metadata["input_tokens"] == trace.usage.total.input_tokens
    assert [t.content for t in trace.history][-2:] == ["My daughter is two.", "How can I help?"]


def test_a_cached_assessment_reaches_the_graph_without_its_calls_counted_again():
    guard, models = guard_for(HIGH, include_trace=True)
    first = guard.invoke(CONVERSATION).response_metadata["oyster"]
    again = guard.invoke(CONVERSATION).response_metadata["oyster"]
    assert first["trace"]["usage"]["per_role"]["risk_assessor"]["calls"] == 2
    assert again["assessment_cached"] is True and len(models["risk_assessor"].calls) == 2
    assert again["trace"]["assessment_reused"] is True and "risk_assessor" not in again["trace"]["usage"]["per_role"]


def test_bind_tools_passes_through_and_a_tool_loop_assesses_once():
    from langgraph.prebuilt import create_react_agent

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    app = ToolCallingFake(messages=iter([
        AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "call-1"}]),
        AIMessage(content="2 + 3 = 5."),
    ]))
    guard, models = guard_for(LOW, app)
    bound = guard.bind_tools([add])
    assert isinstance(bound, RunnableBinding) and bound.bound is guard
    assert bound.kwargs["tools"][0]["function"]["name"] == "add"  # the guard's own run sees the tools
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent is deprecated in favour of langchain's agents
        agent = create_react_agent(guard, [add])
    out = agent.invoke({"messages": [HumanMessage("What is 2 + 3?")]})
    ai = [m for m in out["messages"] if isinstance(m, AIMessage)]
    assert ai[0].tool_calls[0]["name"] == "add" and route(ai[0]) == "direct"
    assert isinstance(out["messages"][2], ToolMessage) and out["messages"][2].content == "5"
    assert ai[1].content == "2 + 3 = 5."
    assert ai[1].response_metadata["oyster"]["assessment_cached"] is True
    assert len(models["risk_assessor"].calls) == 2  # one assessment (two calls)


@pytest.mark.parametrize("assessment, expected", [(LOW, "plain words here"), (HIGH, SAFE_ANSWER)])
def test_message_streams_show_only_the_answer_not_the_safety_agents(assessment, expected):
    from langgraph.graph import START, MessagesState, StateGraph

    app = ToolCallingFake(messages=itertools.cycle([AIMessage(content="plain words here")]))
    guard, _ = guard_for(assessment, app)

    def chat(state):
        return {"messages": [guard.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("chat", chat)
    graph.add_edge(START, "chat")
    streamed = "".join(
        str(chunk.content) for chunk, _ in graph.compile().stream({"messages": [HumanMessage("hi")]}, stream_mode="messages")
    )
    assert streamed == expected  # no risk-assessor JSON, no duplicate tokens


def test_graph_progress_reaches_the_app_stream_through_the_guard():
    from langgraph.graph import START, MessagesState, StateGraph

    guard, _ = guard_for(HIGH)

    def chat(state):
        return {"messages": [guard.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("chat", chat)
    graph.add_edge(START, "chat")
    events = [data for _, data in graph.compile().stream({"messages": [HumanMessage("hi")]}, stream_mode="custom",
                                                         subgraphs=True)]
    nodes = [e["node"] for e in events]
    assert nodes[0] == "prepare" and "solve_game" in nodes and nodes[-1] == "finalize"


def test_route_rule_boundaries():
    rule = RouteRule()
    base = RiskAssessment.model_validate_json(LOW)
    assert rule.is_low_risk(base)
    assert not rule.is_low_risk(base.model_copy(update={"severity": 2}))
    assert not rule.is_low_risk(base.model_copy(update={"level": "R1"}))
    at_limit = base.user_type_posterior.model_copy(update={"benign": 0.75, "sensitive": 0.05, "malicious": 0.2})
    assert rule.is_low_risk(base.model_copy(update={"user_type_posterior": at_limit}))
    over = at_limit.model_copy(update={"benign": 0.74, "malicious": 0.21})
    assert not rule.is_low_risk(base.model_copy(update={"user_type_posterior": over}))
    assert RouteRule(max_level="R1", max_severity=3, max_malicious=0.5).is_low_risk(RiskAssessment.model_validate_json(HIGH))


def test_split_turn_keeps_tool_exchanges_and_rejects_nothing_at_all():
    messages = [
        HumanMessage("What is 2 + 3?"),
        AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "c"}]),
        ToolMessage(content="5", tool_call_id="c", name="add"),
        AIMessage("It is 5."),
        HumanMessage([{"type": "text", "text": "And 5 + 5?"}, {"type": "image_url", "image_url": {"url": "x"}}]),
    ]
    turn = split_turn(messages)
    assert turn.query == "And 5 + 5?\n[image attached]"
    assert [t.role for t in turn.history] == ["user", "assistant", "assistant", "assistant"]
    assert "add(" in turn.history[1].content and "returned) 5" in turn.history[2].content
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    assert split_turn([HumanMessage([audio, "What did I say?"])]).query == "[audio attached]\nWhat did I say?"
    with pytest.raises(InputError):
        split_turn([])


def test_unknown_parameters_are_rejected_and_an_image_only_message_is_assessed():
    with pytest.raises(ValueError, match="temprature"):
        guard_for(LOW, temprature=0.2)
    guard, models = guard_for(LOW)
    image = HumanMessage([{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}])
    reply = guard.invoke([image])
    assert reply.content == APP_REPLY and route(reply) == "direct"
    assert "[image attached]" in str(models["risk_assessor"].calls[0][-1].content)


def test_streamed_tool_calls_and_usage_survive_a_model_that_does_not_stream():
    app = ScriptedChatModel(role="app", script=[  # no _stream: stream() falls back to one whole message
        AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "call-1"}],
                  usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}),
    ])
    guard, _ = guard_for(LOW, app)
    chunks = list(guard.stream("What is 2 + 3?"))
    total = collect(chunks)
    assert total.tool_calls == [{"name": "add", "args": {"a": 2, "b": 3}, "id": "call-1", "type": "tool_call"}]
    assert total.usage_metadata["input_tokens"] == 7  # counted once
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_model_and_stop_are_honoured_on_the_graph_route():
    guard, _ = guard_for(HIGH)
    reply = guard.invoke(CONVERSATION, stop=["light clothing"], model="guard-v2")
    assert reply.content == SAFE_ANSWER[: SAFE_ANSWER.index("light clothing")]
    assert reply.response_metadata["model_name"] == "guard-v2"
    assert guard._get_ls_params()["ls_model_name"] == "scripted"


def test_a_copy_with_another_rule_routes_a_cached_assessment_by_its_own_rule():
    guard, models = guard_for(HIGH)
    assert route(guard.invoke(CONVERSATION)) == "constructive"
    assessed = len(models["risk_assessor"].calls)
    assert assessed == 2  # one assessment: classify, then adapt the rule
    lenient = guard.model_copy(update={"rule": RouteRule(max_level="R1", max_severity=3, max_malicious=0.5)})
    reply = lenient.invoke(CONVERSATION)
    assert route(reply) == "direct" and reply.response_metadata["oyster"]["assessment_cached"] is True
    assert len(models["risk_assessor"].calls) == assessed  # no new assessment
