"""The one node wrapper (graphs/_wrap.py): hooks nest in order, see the same calls sync and async,
may replace an output or a failure, and are applied when the node is added."""

from __future__ import annotations

import asyncio
import contextvars
import time
import warnings
from contextlib import contextmanager
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from oyster_agents.backends.fake import scripted_models
from oyster_agents.config import OysterConfig
from oyster_agents.graphs._wrap import Hook, HookedNode, add_node, hooks_of
from oyster_agents.graphs.constructive import graph_builder
from oyster_agents.graphs.deadline import DeadlineHook
from oyster_agents.graphs.progress import ProgressHook
from oyster_agents.telemetry.nodes import NodeSpans

_SCOPE: contextvars.ContextVar[str | None] = contextvars.ContextVar("scope", default=None)


class State(TypedDict, total=False):
    n: int
    seen: str


class Recorder(Hook):
    """Logs every step; optionally sits out, opens a context, replaces output or failure."""

    def __init__(self, name: str, log: list[str], *, sit_out: bool = False, rescue: bool = False,
                 scope: str | None = None) -> None:
        self.name, self.log, self.sit_out, self.rescue, self.scope = name, log, sit_out, rescue, scope

    def before(self, state: Any) -> Any:
        self.log.append(f"{self.name}.before")
        return None if self.sit_out else self.name

    @contextmanager
    def during(self, token: Any):
        reset = _SCOPE.set(self.scope) if self.scope else None
        try:
            yield
        finally:
            if reset is not None:
                _SCOPE.reset(reset)

    def after(self, token: Any, output: Any) -> Any:
        self.log.append(f"{self.name}.after")
        return {**output, "n": output["n"] * 10}

    def error(self, token: Any, exc: BaseException) -> Any:
        self.log.append(f"{self.name}.error:{type(exc).__name__}")
        if self.rescue:
            return {"n": -1}
        raise exc


def _graph(action: Any, hooks: list[Any]) -> Any:
    graph = StateGraph(State)
    add_node(graph, "work", action, hooks)
    graph.add_edge(START, "work")
    graph.add_edge("work", END)
    return graph.compile()


def _run_both(action: Any, make_hooks: Any) -> list[tuple[list[str], Any]]:
    """(log, outcome) for invoke and ainvoke of the same graph."""
    results = []
    for use_async in (False, True):
        log: list[str] = []
        graph = _graph(action, make_hooks(log))
        try:
            out = asyncio.run(graph.ainvoke({"n": 1})) if use_async else graph.invoke({"n": 1})
        except Exception as exc:  # noqa: BLE001 - the outcome is compared
            out = type(exc).__name__
        results.append((log, out))
    return results


def test_hooks_nest_in_order_and_see_the_same_calls_sync_and_async():
    def work(state: State) -> dict[str, Any]:
        return {"n": state["n"] + 1, "seen": str(_SCOPE.get())}

    runs = _run_both(work, lambda log: [Recorder("outer", log), Recorder("inner", log, scope="deadline")])
    (sync_log, sync_out), (async_log, async_out) = runs
    assert sync_log == async_log == ["outer.before", "inner.before", "inner.after", "outer.after"]
    # the inner hook's context reaches the node (in the executor thread too); after() may replace output
    assert sync_out == async_out == {"n": 200, "seen": "deadline"}


def test_a_hook_that_sits_out_runs_none_of_its_other_steps():
    runs = _run_both(lambda state: {"n": 5}, lambda log: [Recorder("quiet", log, sit_out=True), Recorder("on", log)])
    for log, out in runs:
        assert log == ["quiet.before", "on.before", "on.after"]
        assert out == {"n": 50}


def test_an_inner_hook_may_replace_a_failure_and_outer_hooks_then_see_an_output():
    def boom(state: State) -> dict[str, Any]:
        raise ValueError("no")

    runs = _run_both(boom, lambda log: [Recorder("outer", log), Recorder("inner", log, rescue=True)])
    for log, out in runs:
        assert log == ["outer.before", "inner.before", "inner.error:ValueError", "outer.after"]
        assert out == {"n": -10}


def test_a_failure_no_hook_replaces_reaches_every_hook_and_the_caller():
    def boom(state: State) -> dict[str, Any]:
        raise ValueError("no")

    runs = _run_both(boom, lambda log: [Recorder("outer", log), Recorder("inner", log)])
    for log, out in runs:
        assert log == ["outer.before", "inner.before", "inner.error:ValueError", "outer.error:ValueError"]
        assert out == "ValueError"


def test_a_context_that_fails_to_open_is_the_hook_s_own_error_and_the_node_never_runs():
    ran = []

    class Closed(Recorder):
        @contextmanager
        def during(self, token: Any):
            raise TimeoutError("late")
            yield  # pragma: no cover

    def work(state: State) -> dict[str, Any]:
        ran.append(1)
        return {"n": 1}

    runs = _run_both(work, lambda log: [Recorder("outer", log), Closed("gate", log, rescue=True)])
    for log, out in runs:
        assert log == ["outer.before", "gate.before", "gate.error:TimeoutError", "outer.after"]
        assert out == {"n": -10}
    assert ran == []


def test_the_graph_s_nodes_get_their_hooks_when_added_outermost_first():
    config = OysterConfig.model_validate({"loop": {"deadline_s": 30, "max_steps": 2}})
    builder = graph_builder(config, models=scripted_models())
    kinds = {name: [type(h) for h in hooks_of(spec.runnable)] for name, spec in builder.nodes.items()}
    assert all(isinstance(spec.runnable, HookedNode) for spec in builder.nodes.values())
    assert kinds["assess_risk"] == [NodeSpans, ProgressHook, DeadlineHook]
    assert kinds["score_iterate"] == [NodeSpans, ProgressHook]  # a step node without an agent span
    assert kinds["prepare"] == kinds["finalize"] == [ProgressHook]
    revise = {type(h): h for h in hooks_of(builder.nodes["revise"].runnable)}
    assert revise[DeadlineHook].in_loop and not hooks_of(builder.nodes["assess_risk"].runnable)[2].in_loop
    assert revise[NodeSpans] == NodeSpans("revise", "reviser", in_step=True, ends_step=False)


def test_the_moved_telemetry_module_still_works_and_warns():
    from oyster_agents.telemetry import nodes

    with pytest.warns(DeprecationWarning, match="telemetry.nodes.TracedStateGraph"):
        from oyster_agents.telemetry.graph import TracedStateGraph
    assert TracedStateGraph is nodes.TracedStateGraph
    with pytest.warns(DeprecationWarning, match="telemetry.nodes.NodeSpans"):
        from oyster_agents.telemetry.graph import TracedNode
    assert TracedNode is nodes.NodeSpans


def test_the_deprecated_instrument_builder_still_wraps_a_builder_s_nodes():
    import oyster_agents.telemetry as telemetry

    graph = StateGraph(State)
    graph.add_node("work", lambda state: {"n": 2})
    with pytest.warns(DeprecationWarning, match="instrument_builder is deprecated"):
        telemetry.instrument_builder(graph, [], {"work": "responder"})
    assert [type(h) for h in hooks_of(graph.nodes["work"].runnable)] == [NodeSpans]
    assert "instrument_builder" not in telemetry.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph.add_edge(START, "work")
        assert graph.compile().invoke({"n": 1}) == {"n": 2}


def test_the_deprecated_after_the_fact_helpers_still_add_their_hooks_and_warn():
    from oyster_agents.graphs.deadline import add_deadline_guards
    from oyster_agents.graphs.progress import add_progress_events

    graph = StateGraph(State)
    graph.add_node("work", lambda state: {"n": 2})
    graph.add_node("tidy", lambda state: {"n": 3})
    with pytest.warns(DeprecationWarning, match="graphs.deadline.DeadlineHook"):
        add_deadline_guards(graph, 5.0, {"work": "responder"}, loop_nodes=())
    with pytest.warns(DeprecationWarning, match="graphs.progress.ProgressHook"):
        add_progress_events(graph, 3)
    with pytest.warns(DeprecationWarning):
        add_progress_events(graph, 3)  # idempotent, as before
    assert [type(h) for h in hooks_of(graph.nodes["work"].runnable)] == [ProgressHook]
    assert [type(h) for h in hooks_of(graph.nodes["work"].runnable.inner)] == [DeadlineHook]
    assert [type(h) for h in hooks_of(graph.nodes["tidy"].runnable)] == [ProgressHook]


@pytest.mark.parametrize("use_async", [False, True])
def test_the_deadline_reaches_every_model_call_a_node_makes(use_async):
    from oyster_agents.backends.calls import _DEADLINE
    from oyster_agents.graphs.constructive import build_graph

    from tests.reliability._helpers import schema_reply

    seen: list[float | None] = []

    def reply(messages: Any, schema: Any) -> str:
        at = _DEADLINE.get()  # the deadline the backend enforces on this call
        seen.append(None if at is None else at - time.time())
        return schema_reply(messages, schema)

    roles = ("risk_assessor", "strategist", "user_simulator", "safety_critic", "satisfaction_critic", "reviser")
    models = scripted_models({role: [reply] * 20 for role in roles})
    config = OysterConfig.model_validate({"loop": {"deadline_s": 30, "max_steps": 2, "candidates": 1}})
    graph = build_graph(config, models=models)
    out = asyncio.run(graph.ainvoke({"query": "hello"})) if use_async else graph.invoke({"query": "hello"})
    assert out["answer"] and len(seen) >= 6
    assert all(left is not None and 0 < left <= 30 for left in seen), seen
