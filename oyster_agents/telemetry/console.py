"""A console exporter that prints each finished run as an indented span tree (on stderr)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from oyster_agents.telemetry import _attributes as A

# What a line shows besides name and duration; content keys stay out even when captured.
_SHOWN = (
    A.RESPONSE_MODEL, A.USAGE_INPUT_TOKENS, A.USAGE_OUTPUT_TOKENS, A.RESPONSE_FINISH_REASONS,
    A.RISK_LEVEL, A.RISK_CATEGORY, A.RISK_SEVERITY, A.STRATEGY_CHOSEN, A.STRATEGY_KIND,
    A.STRATEGY_BOUNDARY_FEASIBLE, A.STEP_INDEX, A.ITERATE_SAFETY, A.ITERATE_SATISFACTION,
    A.ITERATE_CONSTRUCTIVE, A.STEP_DONE, A.STEP_COUNT, A.FALLBACKS, A.ERROR_TYPE,
)
_SHORT = {
    A.USAGE_INPUT_TOKENS: "in", A.USAGE_OUTPUT_TOKENS: "out", A.RESPONSE_FINISH_REASONS: "finish",
    A.RESPONSE_MODEL: "model",
}


class TreeConsoleExporter(SpanExporter):
    """Buffer spans per trace; when the trace's local root ends, print the whole tree.

    Args:
        out: where to write; defaults to ``sys.stderr`` at the time of writing, so answers
            printed on stdout stay machine-readable.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        self._pending: dict[int, list[ReadableSpan]] = {}
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ready: list[list[ReadableSpan]] = []
        with self._lock:
            for span in spans:
                trace_id = span.context.trace_id
                self._pending.setdefault(trace_id, []).append(span)
                if span.parent is None or span.parent.is_remote:
                    ready.append(self._pending.pop(trace_id))
        for group in ready:
            self._write(render_tree(group))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            left, self._pending = list(self._pending.values()), {}
        for group in left:
            self._write(render_tree(group))

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def _write(self, text: str) -> None:
        out = self._out or sys.stderr
        out.write(text)
        out.flush()


def render_tree(spans: Sequence[ReadableSpan]) -> str:
    """The spans of one trace as an indented tree, children in start order."""
    ids = {s.context.span_id for s in spans}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: s.start_time or 0)
    lines: list[str] = []

    def walk(span: ReadableSpan, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        lines.append(f"{prefix}{branch}{_describe(span)}")
        inner = prefix if top else prefix + ("   " if last else "│  ")
        kids = children.get(span.context.span_id, [])
        for event in span.events:
            if event.name == A.EVALUATION_EVENT:
                lines.append(f"{inner}{'│  ' if kids else '   '}· {_evaluation(event.attributes or {})}")
        for i, kid in enumerate(kids):
            walk(kid, inner, i == len(kids) - 1, False)

    for root in children.get(None, []):
        lines.append(f"trace {root.context.trace_id:032x}")
        walk(root, "", True, True)
    return "\n".join(lines) + "\n"


def _describe(span: ReadableSpan) -> str:
    seconds = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
    attrs = span.attributes or {}
    parts = [span.name, f"{seconds:.3f}s"]
    for key in _SHOWN:
        if key in attrs:
            parts.append(f"{_SHORT.get(key, key.removeprefix('oyster.'))}={_fmt(attrs[key])}")
    if span.status.status_code is StatusCode.ERROR:
        parts.append("ERROR")
    return "  ".join(parts)


def _evaluation(attrs: Any) -> str:
    label = attrs.get(A.EVALUATION_SCORE_LABEL, "")
    return f"{attrs.get(A.EVALUATION_NAME, '?')}: {label} ({_fmt(attrs.get(A.EVALUATION_SCORE_VALUE))})"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"
