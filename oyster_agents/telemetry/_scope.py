"""The per-run scope that travels in the OpenTelemetry context: root span, open step span, token totals."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from oyster_agents.telemetry import _attributes as A

SCOPE_KEY = otel_context.create_key("oyster-agents-run")


class RunScope:
    """Per-run state shared by the nodes of one run: the root span, the open step span, token totals.

    It travels in the OpenTelemetry context, so each concurrent run (batch, abatch) sees its own.
    """

    __slots__ = ("root", "step", "steps", "input_tokens", "output_tokens", "_lock")

    def __init__(self, root: trace.Span) -> None:
        self.root = root
        self.step: trace.Span | None = None
        self.steps = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self._lock = threading.Lock()

    def add_usage(self, tokens_in: int, tokens_out: int) -> None:
        """Add one call's tokens to the run's totals."""
        with self._lock:
            self.input_tokens += tokens_in
            self.output_tokens += tokens_out

    def open_step(self, tracer: trace.Tracer, state: Any) -> trace.Span:
        """The open Lingo-BP step span; the first node of a step opens it under the root."""
        with self._lock:
            if self.step is None:
                done = state.get("iterates") if isinstance(state, Mapping) else None
                self.step = tracer.start_span(
                    A.STEP_SPAN,
                    context=trace.set_span_in_context(self.root),
                    attributes={A.STEP_INDEX: len(done or [])},
                )
            return self.step

    def close_step(self) -> trace.Span | None:
        """Detach and return the open step span (the caller ends it)."""
        with self._lock:
            step, self.step = self.step, None
            if step is not None:
                self.steps += 1
            return step


def current_scope() -> RunScope | None:
    """The run scope of the current context, if a traced run is in progress."""
    scope = otel_context.get_value(SCOPE_KEY)
    return scope if isinstance(scope, RunScope) else None
