"""Graph-level spans: the ``invoke_workflow`` root per run, ``invoke_agent`` per node, ``lingo_bp.step``.

The root is opened around each run by :class:`TracedStateGraph`; the node spans by
:class:`NodeSpans`, a hook the graph runs each node in. Nodes find the run's
:class:`RunScope` in the OpenTelemetry context, which LangGraph copies into every thread and task
it runs a node in, so concurrent runs (batch, abatch, fan-out) never mix their spans.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from opentelemetry import context as otel_context
from opentelemetry import trace

from oyster_agents.telemetry import _attributes as A
from oyster_agents.telemetry._outputs import record_iterate, record_output
from oyster_agents.telemetry._scope import SCOPE_KEY, RunScope, current_scope
from oyster_agents.telemetry.spans import (
    CONVERSATION_KEY,
    Tracing,
    conversation_attributes,
    current,
    guarded,
    record_error,
)

_END = object()  # the end of a stream


class _Run:
    """One ``invoke_workflow`` span and the context that carries it to the nodes."""

    def __init__(self, tracing: Tracing, name: str, graph_input: Any, config: RunnableConfig | None) -> None:
        attrs: dict[str, Any] = {A.OPERATION_NAME: A.OP_INVOKE_WORKFLOW, A.WORKFLOW_NAME: name}
        thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
        ctx = otel_context.get_current()
        if thread_id is not None:
            ctx = otel_context.set_value(CONVERSATION_KEY, str(thread_id), ctx)
        attrs.update(conversation_attributes(ctx))
        if isinstance(graph_input, Mapping):
            if graph_input.get("id") is not None:
                attrs[A.RUN_ID] = str(graph_input["id"])
            if tracing.capture_content and isinstance(graph_input.get("query"), str):
                attrs[A.QUERY] = graph_input["query"]
        self.span = tracing.tracer.start_span(f"{A.OP_INVOKE_WORKFLOW} {name}", attributes=attrs, context=ctx)
        self.scope = RunScope(self.span)
        ctx = trace.set_span_in_context(self.span, ctx)
        self.context = otel_context.set_value(SCOPE_KEY, self.scope, ctx)

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc is not None and not isinstance(exc, GeneratorExit):  # GeneratorExit: the caller stopped early
                self.fail(exc)
        finally:
            self.end()

    def attached(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the run's context: attached around each step only, so between chunks
        the caller's own context is untouched."""
        token = otel_context.attach(self.context)
        try:
            return fn(*args)
        finally:
            otel_context.detach(token)

    async def attached_async(self, step: Awaitable[Any]) -> Any:
        """``await step`` in the run's context (see :meth:`attached`)."""
        token = otel_context.attach(self.context)
        try:
            return await step
        finally:
            otel_context.detach(token)

    def fail(self, exc: BaseException) -> None:
        record_error(self.span, exc)
        step = self.scope.close_step()
        if step is not None:
            record_error(step, exc)
            step.end()

    def end(self) -> None:
        step = self.scope.close_step()
        if step is not None:  # e.g. stopped at an interrupt inside a step
            step.end()
        if self.scope.input_tokens or self.scope.output_tokens:
            self.span.set_attribute(A.USAGE_INPUT_TOKENS, self.scope.input_tokens)
            self.span.set_attribute(A.USAGE_OUTPUT_TOKENS, self.scope.output_tokens)
        self.span.set_attribute(A.STEP_COUNT, self.scope.steps)
        self.span.end()


def _traced_stream(tracing: Tracing, name: str, inner: Iterator[Any], graph_input: Any, config: Any) -> Iterator[Any]:
    with _Run(tracing, name, graph_input, config) as run:
        try:
            while (chunk := run.attached(next, inner, _END)) is not _END:
                yield chunk
        finally:  # closing the stream early cancels its nodes: inside the run, like the steps
            run.attached(_close, inner)


async def _traced_astream(
    tracing: Tracing, name: str, inner: AsyncIterator[Any], graph_input: Any, config: Any
) -> AsyncIterator[Any]:
    with _Run(tracing, name, graph_input, config) as run:
        try:
            while (chunk := await run.attached_async(anext(inner, _END))) is not _END:
                yield chunk
        finally:
            await run.attached_async(_aclose(inner))


def _close(stream: Any) -> None:
    close = getattr(stream, "close", None)
    if close is not None:
        close()


async def _aclose(stream: Any) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


class TracedStateGraph(CompiledStateGraph):
    """A compiled graph whose every run is one ``invoke_workflow`` span.

    Why a subclass (set on the compiled instance) rather than a wrapper object: ``invoke``,
    ``batch``, ``abatch``, ``stream_events`` and subgraph calls all funnel into ``stream`` /
    ``astream``, so overriding those two covers every entry point, while ``isinstance`` checks,
    ``get_graph``, ``get_state``, ``with_config`` and ``copy`` keep working unchanged. A
    delegating wrapper would have to re-implement ``batch``/``abatch`` (the inherited versions
    call the inner graph's ``invoke``, bypassing the root span) and lose its spans on
    ``with_config``. The class holds no state, so traced graphs pickle like plain ones.
    """

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        return self._traced(_traced_stream, super().stream(input, config, **kwargs), input, config)

    def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        return self._traced(_traced_astream, super().astream(input, config, **kwargs), input, config)

    def _traced(self, run_in_span: Callable[..., Any], inner: Any, graph_input: Any, config: Any) -> Any:
        tracing = current()
        if tracing is None:
            return inner
        return run_in_span(tracing, self.name or A.WORKFLOW, inner, graph_input, config)


def traced_graph(compiled: Any) -> Any:
    """Make a compiled graph open a root span per run (in place; returns it)."""
    if isinstance(compiled, TracedStateGraph):
        return compiled
    if type(compiled) is not CompiledStateGraph:
        raise TypeError(
            f"instrument_graph expects the result of StateGraph.compile(), got {type(compiled).__name__}"
        )
    compiled.__class__ = TracedStateGraph
    return compiled


# ---- nodes --------------------------------------------------------------------------------------
class _NodeCall:
    """One traced node call: its run scope and its ``invoke_agent`` span (None for the step's scorer)."""

    __slots__ = ("tracing", "scope", "span")

    def __init__(self, tracing: Tracing, scope: RunScope | None, span: trace.Span | None) -> None:
        self.tracing = tracing
        self.scope = scope
        self.span = span


@dataclass(frozen=True)
class NodeSpans:
    """Puts a graph node inside an ``invoke_agent <role>`` span (and, in Lingo-BP, inside its step
    span); a node hook (``before``/``during``/``after``/``error``, see ``oyster_agents.graphs._wrap``).

    Args:
        node: the node name.
        role: the agent role; ``None`` for a node with no span of its own (the step's scorer).
        in_step: the node belongs to a Lingo-BP step (parented to the step span).
        ends_step: the node closes the step (the step span ends after it).
    """

    node: str
    role: str | None
    in_step: bool = False
    ends_step: bool = False

    def before(self, state: Any) -> _NodeCall | None:
        tracing = current()
        if tracing is None:
            return None
        scope = current_scope()
        if self.role is None:
            return _NodeCall(tracing, scope, None)
        parent = None
        if self.in_step and scope is not None:
            parent = trace.set_span_in_context(scope.open_step(tracing.tracer, state))
        attrs = {A.OPERATION_NAME: A.OP_INVOKE_AGENT, A.AGENT_NAME: self.role, A.NODE: self.node,
                 **conversation_attributes()}
        span = tracing.tracer.start_span(f"{A.OP_INVOKE_AGENT} {self.role}", context=parent, attributes=attrs)
        return _NodeCall(tracing, scope, span)

    @contextmanager
    def during(self, call: _NodeCall) -> Iterator[None]:
        if call.span is None:
            yield
            return
        token = otel_context.attach(trace.set_span_in_context(call.span))
        try:
            yield
        finally:
            otel_context.detach(token)

    def after(self, call: _NodeCall, output: Any) -> Any:
        if call.span is not None:
            guarded(record_output, call.span, call.scope, output, call.tracing.capture_content)
            call.span.end()
        self._end_step(call.scope, output, None)
        return output

    def error(self, call: _NodeCall, exc: BaseException) -> Any:
        if call.span is not None:
            record_error(call.span, exc)
            call.span.end()
        self._end_step(call.scope, None, exc)
        raise exc

    def _end_step(self, scope: RunScope | None, output: Any, exc: BaseException | None) -> None:
        if not self.ends_step or scope is None:
            return
        step = scope.close_step()
        if step is None:
            return
        if exc is not None:
            record_error(step, exc)
        elif isinstance(output, Mapping):
            guarded(record_iterate, step, output)
        step.end()
        scope.root.set_attribute(A.STEP_COUNT, scope.steps)


def span_hooks(
    node_roles: Mapping[str, str], step_nodes: Iterable[str] = (), step_end: str | None = None
) -> dict[str, NodeSpans]:
    """The span hook of every agent node and every Lingo-BP step node.

    Args:
        node_roles: node name → agent role; each such node gets an ``invoke_agent <role>`` span.
        step_nodes: the nodes that make up one Lingo-BP step (the first to run opens the step span).
        step_end: the node after which the step span ends.
    """
    steps = {*step_nodes, *([step_end] if step_end else [])}
    return {
        name: NodeSpans(name, node_roles.get(name), in_step=name in steps, ends_step=name == step_end)
        for name in [*node_roles, *sorted(steps - set(node_roles))]
    }
