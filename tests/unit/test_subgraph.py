"""The compiled graph as a node of a parent graph, with multi-turn memory in SQLite."""

from __future__ import annotations

import logging
import typing
from enum import Enum

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel
from typing_extensions import TypedDict

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.schemas import ChatTurn, Iterate, RiskAssessment
from oyster_agents.checkpoints import checkpoint_allowlist, sqlite_checkpointer
from oyster_agents.state import OysterState

from . import _scripts as s

FIRST = "My daughter is two and has a fever."
SECOND = "Should I rub her with alcohol?"


def config() -> OysterConfig:
    return OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 2, "max_steps": 2})


def models():
    answers = iter(range(1000))
    return scripted_models({
        "risk_assessor": [s.assessment()],
        "responder": [lambda messages, schema: f"<think>plan</think>Answer number {next(answers)}."],
    })


class AppState(TypedDict, total=False):
    """A host app's state: shares query/history/answer/trace with the oyster node, adds its own."""

    user: str
    query: str
    history: list[ChatTurn]
    answer: str
    trace: dict
    turns: int


def parent_graph(oyster, checkpointer):
    def count_turn(state: AppState) -> dict:
        return {"turns": state.get("turns", 0) + 1}

    graph = StateGraph(AppState)
    graph.add_node("oyster", oyster)  # OysterInput in, OysterOutput (answer, trace, history) out
    graph.add_node("count_turn", count_turn)
    graph.add_edge(START, "oyster")
    graph.add_edge("oyster", "count_turn")
    graph.add_edge("count_turn", END)
    return graph.compile(checkpointer=checkpointer)


def test_parent_graph_keeps_the_conversation_across_turns(tmp_path):
    ms = models()
    saver = sqlite_checkpointer(tmp_path / "app.db")
    app = parent_graph(build_graph(config(), models=ms), saver)
    thread = {"configurable": {"thread_id": "user-1"}}

    first = app.invoke({"query": FIRST, "user": "ann"}, thread)
    assert first["turns"] == 1 and [t.content for t in first["history"]] == [FIRST, first["answer"]]

    second = app.invoke({"query": SECOND}, thread)
    assert second["turns"] == 2 and second["user"] == "ann"
    assert [t.role for t in second["history"]] == ["user", "assistant", "user", "assistant"]
    assert second["trace"]["history"] == [{"role": "user", "content": FIRST},
                                          {"role": "assistant", "content": first["answer"]}]
    assessor_prompt = str(ms["risk_assessor"].calls[-1][-1].content)
    assert FIRST in assessor_prompt and first["answer"] in assessor_prompt

    other = app.invoke({"query": SECOND}, {"configurable": {"thread_id": "user-2"}})
    assert other["trace"]["history"] == [] and other["turns"] == 1
    saver.conn.close()


def test_a_reopened_database_restores_pydantic_state_without_serializer_warnings(tmp_path, caplog):
    path = tmp_path / "memory.db"
    thread = {"configurable": {"thread_id": "t"}}
    saver = sqlite_checkpointer(path)
    first = build_graph(config(), models=models(), checkpointer=saver).invoke({"query": FIRST}, thread)
    saver.conn.close()

    caplog.set_level(logging.WARNING)
    saver = sqlite_checkpointer(path)  # a new process would do exactly this
    graph = build_graph(config(), models=models(), checkpointer=saver)
    values = graph.get_state(thread).values
    assert isinstance(values["assessment"], RiskAssessment)
    assert all(isinstance(it, Iterate) for it in values["iterates"])
    assert values["history"] == [ChatTurn(role="user", content=FIRST), ChatTurn(role="assistant", content=first["answer"])]

    second = graph.invoke({"query": SECOND}, thread)
    # per-run lists start empty on a reused thread: only this turn's candidates and iterates
    assert len(second["trace"]["candidates"]) == 2
    assert len(second["trace"]["iterates"]) == len(graph.get_state(thread).values["iterates"]) <= 2
    assert second["trace"]["usage"]["per_role"]["risk_assessor"]["calls"] == 2  # classify, then adapt the rule
    assert len(second["history"]) == 4
    assert not [r for r in caplog.records if "checkpoint" in r.getMessage().lower()]
    saver.conn.close()


def test_passing_history_replaces_the_threads_history(tmp_path):
    saver = sqlite_checkpointer(tmp_path / "m.db")
    graph = build_graph(config(), models=models(), checkpointer=saver)
    thread = {"configurable": {"thread_id": "t"}}
    graph.invoke({"query": FIRST}, thread)
    out = graph.invoke({"query": SECOND, "history": [{"role": "user", "content": "fresh start"}]}, thread)
    assert out["trace"]["history"] == [{"role": "user", "content": "fresh start"}]
    saver.conn.close()


def _pydantic_types(tp, seen):
    if isinstance(tp, type) and issubclass(tp, Enum):
        seen.add(tp)
        return
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return
        seen.add(tp)
        for hint in typing.get_type_hints(tp).values():
            _pydantic_types(hint, seen)
        return
    for arg in typing.get_args(tp):
        _pydantic_types(arg, seen)


def test_the_checkpoint_allowlist_covers_every_model_and_enum_the_state_holds():
    seen: set[type] = set()
    for hint in typing.get_type_hints(OysterState).values():
        _pydantic_types(hint, seen)
    assert seen, "the state holds pydantic models"
    missing = {(t.__module__, t.__name__) for t in seen} - checkpoint_allowlist()
    assert not missing, f"export these from oyster_agents.schemas: {sorted(missing)}"
