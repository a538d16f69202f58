"""OpenTelemetry tracing of every run, in the GenAI semantic conventions.

Spans: one ``invoke_workflow oyster`` root per run, one ``invoke_agent <role>`` per agent node, one
``lingo_bp.step`` per Lingo-BP iterate (respond, critics, score; revise opens the next one) and one
``chat <model>`` per LLM call. Critic judgments are ``gen_ai.evaluation.result`` events; the risk
assessment and the chosen strategy are ``oyster.*`` attributes. Metrics:
``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration``.

The instrumentation is always in place; the tracer and meter are resolved when a run starts: the
ones :func:`configure_tracing` set up, else the application's global providers (an app that set
up OpenTelemetry itself, or runs under ``opentelemetry-instrument``, gets the full span tree with
no call here). With no provider set (e.g. only the OpenTelemetry API installed) no span is made.
``configure_tracing`` and the CLI's ``--trace`` need the SDK: ``pip install 'oyster-agents[tracing]'``.

Example:
    >>> from oyster_agents import OysterConfig, build_graph
    >>> from oyster_agents.telemetry import configure_tracing
    >>> tracing = configure_tracing("otlp", endpoint="http://localhost:4318")
    >>> build_graph(OysterConfig()).invoke({"query": "..."})
    >>> tracing.shutdown()  # flush before exit
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from oyster_agents.telemetry._state import active
from oyster_agents.telemetry.setup import configure_tracing, disable_tracing

if TYPE_CHECKING:
    from oyster_agents.config import TelemetryConfig
    from oyster_agents.telemetry.spans import Tracing

__all__ = [
    "active_tracing",
    "configure_from_config",
    "configure_tracing",
    "current_trace_id",
    "disable_tracing",
    "instrument_graph",
]


def configure_from_config(settings: TelemetryConfig) -> Tracing | None:
    """``configure_tracing`` from ``OysterConfig.telemetry``; ``None`` (nothing done) when its exporter is ``none``."""
    if settings.exporter == "none":
        return None
    return configure_tracing(settings.exporter, settings.endpoint, settings.capture_content or None)


def active_tracing() -> Tracing | None:
    """The active tracing, or ``None`` when tracing is off."""
    return active()


def current_trace_id() -> str | None:
    """The trace id (32 hex digits) of the span current in this context, if any.

    It is the id of our run span when tracing is on, or of an application span around the run.
    """
    trace_api = sys.modules.get("opentelemetry.trace")
    if trace_api is None:  # nobody imported OpenTelemetry, so no span can be current
        return None
    span_context = trace_api.get_current_span().get_span_context()
    return f"{span_context.trace_id:032x}" if span_context.is_valid else None


def instrument_graph(compiled: Any) -> Any:
    """Give a compiled graph its ``invoke_workflow`` root span per run (while tracing applies).

    ``build_graph`` does this itself; call it when you compile a ``graph_builder`` graph yourself.
    """
    from oyster_agents.telemetry.nodes import traced_graph

    return traced_graph(compiled)


def __getattr__(name: str) -> Any:
    if name != "instrument_builder":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    warnings.warn(
        "oyster_agents.telemetry.instrument_builder is deprecated: graph_builder instruments its nodes as it "
        "adds them (oyster_agents.telemetry.nodes.span_hooks)",
        DeprecationWarning,
        stacklevel=2,
    )
    return _instrument_builder


def _instrument_builder(
    graph: Any,
    runtimes: Iterable[Any],
    node_roles: Mapping[str, str],
    *,
    step_nodes: Iterable[str] = (),
    step_end: str | None = None,
) -> None:
    from oyster_agents.telemetry.graph import _wrap_nodes
    from oyster_agents.telemetry.spans import trace_call

    for runtime in runtimes:
        if trace_call not in runtime.wrappers:
            runtime.wrappers.append(trace_call)
    _wrap_nodes(graph, node_roles, step_nodes, step_end)
