"""ConstructiveSafetyMiddleware inside ``langchain.agents.create_agent`` (scripted models, one tool)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import scripted_models
from oyster_agents.middleware import ConstructiveSafetyMiddleware

from .test_guard import HIGH, LOW, SAFE_ANSWER, ToolCallingFake


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def agent_for(assessment: str, replies: list[AIMessage]):
    models = scripted_models({"risk_assessor": [assessment], "responder": [f"<think>plan</think>{SAFE_ANSWER}"]})
    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 2, "max_steps": 1})
    app = ToolCallingFake(messages=iter(replies))
    middleware = ConstructiveSafetyMiddleware(config=config, models=models)
    return create_agent(app, tools=[add], middleware=[middleware]), models, app


TOOL_LOOP = [
    AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "call-1"}]),
    AIMessage(content="2 + 3 = 5."),
]


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_benign_turn_untouched_and_tool_calls_still_work(how):
    agent, models, _ = agent_for(LOW, list(TOOL_LOOP))
    payload = {"messages": [HumanMessage("What is 2 + 3?")]}
    out = agent.invoke(payload) if how == "invoke" else asyncio.run(agent.ainvoke(payload))
    kinds = [type(m).__name__ for m in out["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert out["messages"][1].tool_calls[0]["name"] == "add"
    assert out["messages"][1].response_metadata["oyster"]["route"] == "direct"
    assert isinstance(out["messages"][2], ToolMessage) and out["messages"][2].content == "5"
    assert out["messages"][3].content == "2 + 3 = 5."
    assert len(models["risk_assessor"].calls) == 2  # one assessment (two calls); the step after the tool result has none
    assert not models["responder"].calls


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_risky_turn_is_answered_by_the_graph(how):
    agent, models, _ = agent_for(HIGH, list(TOOL_LOOP))
    payload = {"messages": [HumanMessage("My toddler has a fever. Should I rub her with alcohol?")]}
    out = agent.invoke(payload) if how == "invoke" else asyncio.run(agent.ainvoke(payload))
    assert [type(m).__name__ for m in out["messages"]] == ["HumanMessage", "AIMessage"]
    reply = out["messages"][-1]
    assert reply.content == SAFE_ANSWER and not reply.tool_calls
    assert reply.response_metadata["oyster"]["route"] == "constructive"
    assert models["responder"].calls and len(models["risk_assessor"].calls) == 2  # one assessment, reused by the graph


@pytest.mark.parametrize("assessment, expected", [(LOW, "plain words here"), (HIGH, SAFE_ANSWER)])
def test_message_stream_shows_only_the_answer(assessment, expected):
    agent_app = ToolCallingFake(messages=itertools.cycle([AIMessage(content="plain words here")]))
    models = scripted_models({"risk_assessor": [assessment], "responder": [f"<think>plan</think>{SAFE_ANSWER}"]})
    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 2, "max_steps": 1})
    agent = create_agent(agent_app, tools=[add], middleware=[ConstructiveSafetyMiddleware(config=config, models=models)])
    chunks = [chunk for chunk, _ in agent.stream({"messages": [HumanMessage("hi")]}, stream_mode="messages")]
    ai_text = "".join(str(c.content) for c in chunks if c.type in ("ai", "AIMessageChunk"))
    assert ai_text == expected  # no risk-assessor JSON, no internal drafts
