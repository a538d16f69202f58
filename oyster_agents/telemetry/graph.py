"""Graph-level spans: the ``invoke_workflow`` root per run, ``invoke_agent`` per node, ``lingo_bp.step``.

The root is opened around each run by :class:`TracedStateGraph`; nodes find the run's
:class:`RunScope` in the OpenTelemetry context, which LangGraph copies into every thread and task
it runs a node in, so concurrent runs (batch, abatch, fan-out) never mix their spans.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig
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
    run = _Run(tracing, name, graph_input, config)
    try:
        while True:
            # Attach around each step only: between chunks the caller's own context is untouched.
            token = otel_context.attach(run.context)
            try:
                chunk = next(inner)
            except StopIteration:
                break
            finally:
                otel_context.detach(token)
            yield chunk
    except GeneratorExit:
        raise
    except BaseException as exc:
        run.fail(exc)
        raise
    finally:
        token = otel_context.attach(run.context)
        try:
            close = getattr(inner, "close", None)
            if close is not None:
                close()
        finally:
            otel_context.detach(token)
            run.end()


async def _traced_astream(
    tracing: Tracing, name: str, inner: AsyncIterator[Any], graph_input: Any, config: Any
) -> AsyncIterator[Any]:
    run = _Run(tracing, name, graph_input, config)
    try:
        while True:
            token = otel_context.attach(run.context)
            try:
                chunk = await inner.__anext__()
            except StopAsyncIteration:
                break
            finally:
                otel_context.detach(token)
            yield chunk
    except GeneratorExit:
        raise
    except BaseException as exc:
        run.fail(exc)
        raise
    finally:
        token = otel_context.attach(run.context)
        try:
            aclose = getattr(inner, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            otel_context.detach(token)
            run.end()


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
        inner = super().stream(input, config, **kwargs)
        tracing = current()
        if tracing is None:
            return inner
        return _traced_stream(tracing, self.name or A.WORKFLOW, inner, input, config)

    def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        inner = super().astream(input, config, **kwargs)
        tracing = current()
        if tracing is None:
            return inner
        return _traced_astream(tracing, self.name or A.WORKFLOW, inner, input, config)


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
class TracedNode(Runnable[Any, Any]):
    """A graph node inside an ``invoke_agent <role>`` span (and, in Lingo-BP, inside its step span).

    Args:
        inner: the node's runnable as LangGraph built it.
        node: the node name.
        role: the agent role; ``None`` for a node with no span of its own (the step's scorer).
        in_step: the node belongs to a Lingo-BP step (parented to the step span).
        ends_step: the node closes the step (the step span ends after it).
    """

    def __init__(
        self, inner: Runnable[Any, Any], node: str, role: str | None, *, in_step: bool, ends_step: bool
    ) -> None:
        self.inner = inner
        self.node = node
        self.role = role
        self.in_step = in_step
        self.ends_step = ends_step
        self.name = node

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        tracing = current()
        if tracing is None:
            return self.inner.invoke(input, config, **kwargs)
        scope = current_scope()
        span = self._start(tracing, scope, input)
        try:
            if span is None:
                output = self.inner.invoke(input, config, **kwargs)
            else:
                token = otel_context.attach(trace.set_span_in_context(span))
                try:
                    output = self.inner.invoke(input, config, **kwargs)
                    guarded(record_output, span, scope, output, tracing.capture_content)
                except BaseException as exc:
                    record_error(span, exc)
                    raise
                finally:
                    otel_context.detach(token)
                    span.end()
        except BaseException as exc:
            self._end_step(scope, None, exc)
            raise
        self._end_step(scope, output, None)
        return output

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        tracing = current()
        if tracing is None:
            return await self.inner.ainvoke(input, config, **kwargs)
        scope = current_scope()
        span = self._start(tracing, scope, input)
        try:
            if span is None:
                output = await self.inner.ainvoke(input, config, **kwargs)
            else:
                token = otel_context.attach(trace.set_span_in_context(span))
                try:
                    output = await self.inner.ainvoke(input, config, **kwargs)
                    guarded(record_output, span, scope, output, tracing.capture_content)
                except BaseException as exc:
                    record_error(span, exc)
                    raise
                finally:
                    otel_context.detach(token)
                    span.end()
        except BaseException as exc:
            self._end_step(scope, None, exc)
            raise
        self._end_step(scope, output, None)
        return output

    def _start(self, tracing: Tracing, scope: RunScope | None, state: Any) -> trace.Span | None:
        if self.role is None:
            return None
        parent = None
        if self.in_step and scope is not None:
            parent = trace.set_span_in_context(scope.open_step(tracing.tracer, state))
        attrs = {A.OPERATION_NAME: A.OP_INVOKE_AGENT, A.AGENT_NAME: self.role, A.NODE: self.node,
                 **conversation_attributes()}
        return tracing.tracer.start_span(f"{A.OP_INVOKE_AGENT} {self.role}", context=parent, attributes=attrs)

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


def wrap_nodes(
    graph: Any,
    node_roles: Mapping[str, str],
    step_nodes: Iterable[str] = (),
    step_end: str | None = None,
) -> None:
    """Put every agent node (and the Lingo-BP step nodes) of an uncompiled graph in its spans."""
    steps = set(step_nodes)
    for name, spec in graph.nodes.items():
        role = node_roles.get(name)
        if role is None and name not in steps and name != step_end:
            continue
        if isinstance(spec.runnable, TracedNode):
            continue
        spec.runnable = TracedNode(
            spec.runnable, name, role, in_step=name in steps or name == step_end, ends_step=name == step_end
        )
