"""One span per guarded call: ``invoke_agent constructive_guard``, under which the assessment and the graph nest.

The route taken and the assessment (level, category, severity) are attributes on it, so a trace
viewer shows at the top of each call whether the graph answered and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from oyster_agents.telemetry import _attributes as A
from oyster_agents.telemetry.spans import CONVERSATION_KEY, conversation_attributes, current, record_error

GUARD_AGENT = "constructive_guard"
# Run metadata keys that name a conversation (LangGraph copies ``thread_id`` into every run's metadata).
_CONVERSATION_KEYS = ("thread_id", "conversation_id", "session_id")


class GuardSpan:
    """The span of one guarded call (inactive when no tracing applies: every method is then a no-op)."""

    def __init__(self, metadata: Mapping[str, Any] | None = None) -> None:
        self.span: trace.Span | None = None
        self.context: Any = None
        tracing = current()
        if tracing is None:
            return
        ctx = otel_context.get_current()
        conversation = next((str(metadata[k]) for k in _CONVERSATION_KEYS if (metadata or {}).get(k)), None)
        if conversation is not None:
            ctx = otel_context.set_value(CONVERSATION_KEY, conversation, ctx)
        attrs = {A.OPERATION_NAME: A.OP_INVOKE_AGENT, A.AGENT_NAME: GUARD_AGENT, **conversation_attributes(ctx)}
        self.span = tracing.tracer.start_span(f"{A.OP_INVOKE_AGENT} {GUARD_AGENT}", context=ctx, attributes=attrs)
        self.context = trace.set_span_in_context(self.span, ctx)

    @contextmanager
    def current(self) -> Iterator[None]:
        """Make the span current for the block (no ``yield`` of a generator inside it)."""
        if self.span is None:
            yield
            return
        token = otel_context.attach(self.context)
        try:
            yield
        finally:
            otel_context.detach(token)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with the span current."""
        with self.current():
            return fn(*args, **kwargs)

    def decided(self, metadata: Mapping[str, Any]) -> None:
        """Record the route and the assessment (``Decision.metadata()``)."""
        if self.span is None:
            return
        assessment = metadata.get("assessment") or {}
        self.span.set_attributes({
            A.GUARD_ROUTE: metadata.get("route", ""),
            A.RISK_LEVEL: assessment.get("level", ""),
            A.RISK_CATEGORY: assessment.get("category", ""),
            A.RISK_SEVERITY: int(assessment.get("severity", 0)),
            A.GUARD_ASSESSMENT_CACHED: bool(metadata.get("assessment_cached")),
        })

    def fail(self, exc: BaseException) -> None:
        """Mark the span failed."""
        if self.span is not None:
            record_error(self.span, exc)

    def end(self) -> None:
        """End the span."""
        if self.span is not None:
            self.span.end()
