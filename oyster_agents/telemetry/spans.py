"""The tracing handle and the LLM-call span: one ``chat <model>`` span per model call.

:func:`trace_call` is a ``RoleRuntime`` wrapper (``wrapper(invoke) -> invoke``), so every call of
every role, re-asks and transport retries included, is covered at the one choke point
(``backends.calls.call_model``). Each wrapper looks up the active :class:`Tracing` when it runs:
after ``disable_tracing()`` an instrumented graph runs untraced, and a new ``configure_tracing()``
takes effect at once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages, convert_to_openai_messages
from langgraph.errors import GraphBubbleUp
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from oyster_agents.telemetry import _attributes as A
from oyster_agents.redact import credentials, host_and_port, redact
from oyster_agents.telemetry._scope import current_scope
from oyster_agents.telemetry import _state
from oyster_agents.telemetry.metrics import GenAIMetrics

log = logging.getLogger("oyster_agents.telemetry")

SCOPE_NAME = "oyster_agents"
# Conversation ids of the run in progress (gen_ai.conversation.id and session.id on every span).
CONVERSATION_KEY = otel_context.create_key("oyster-agents-conversation")
_from_globals: tuple[Any, Any, Tracing] | None = None


def current() -> Tracing | None:
    """The tracing that applies now: the configured one, else one on the application's global providers.

    Resolved at call time, so an app that set up OpenTelemetry itself (or runs under
    ``opentelemetry-instrument``) gets spans without ``configure_tracing``, and graphs built
    before any setup are traced once it happens. ``None`` (no spans, next to no cost) while no
    tracer provider is set, e.g. when only the OpenTelemetry API is installed.
    """
    configured = _state.active()
    if configured is not None or _state.is_off():
        return configured
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    global _from_globals
    from opentelemetry import metrics

    meter_provider = metrics.get_meter_provider()
    cached = _from_globals
    if cached is not None and cached[0] is provider and cached[1] is meter_provider:
        return cached[2]
    from oyster_agents._version import package_version

    capture = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower() in ("1", "true")
    tracing = Tracing(provider.get_tracer(SCOPE_NAME, package_version()),
                      GenAIMetrics(meter_provider.get_meter(SCOPE_NAME, package_version())), capture_content=capture)
    _from_globals = (provider, meter_provider, tracing)
    return tracing


def conversation_attributes(ctx: Any = None) -> dict[str, str]:
    """``gen_ai.conversation.id`` and ``session.id`` of the run in progress (empty when it has none)."""
    conversation = otel_context.get_value(CONVERSATION_KEY, ctx)
    return {A.CONVERSATION_ID: conversation, A.SESSION_ID: conversation} if isinstance(conversation, str) else {}

class Tracing:
    """What the wrappers need: a tracer, the GenAI metrics and the content switch.

    Built by ``configure_tracing``; ``shutdown()`` flushes and stops what that call installed.
    """

    def __init__(
        self,
        tracer: trace.Tracer,
        metrics: GenAIMetrics,
        *,
        capture_content: bool = False,
        closers: Sequence[Any] = (),
    ) -> None:
        self.tracer = tracer
        self.metrics = metrics
        self.capture_content = capture_content
        self._closers = list(closers)
        self._requests: dict[int, tuple[Any, tuple[Any, Any], _Request]] = {}

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export what is buffered now; False if an exporter did not finish in time."""
        ok = True
        for closer in self._closers:
            flush = getattr(closer, "force_flush", None)
            if flush is not None:
                ok = bool(flush(timeout_millis)) and ok
        return ok

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush and stop what this tracing installed, waiting at most about ``timeout_s``.

        An unreachable collector would otherwise hold the process for the exporters' full retry
        budget; past the deadline the exporters are stopped and unsent data is dropped.
        """
        closers, self._closers = self._closers, []
        if not closers:
            return
        worker = threading.Thread(
            target=lambda: [closer.shutdown() for closer in closers], name="oyster-telemetry-shutdown", daemon=True
        )
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            for closer in closers:
                interrupt = getattr(closer, "interrupt", None)
                if interrupt is not None:
                    interrupt()
            worker.join(2.0)
            log.warning("telemetry export did not finish within %.0f s (collector unreachable?); "
                        "unsent spans and metrics were dropped", timeout_s)

    # ---- one LLM call ---------------------------------------------------------------------------
    def call(self, invoke: Callable[..., Any], runtime: Any, messages: list[Any], kwargs: dict[str, Any]) -> Any:
        """Run one model call inside a ``chat <model>`` span and record the two metrics."""
        request = self._request(runtime, kwargs)
        metric_attrs = dict(request.metric_attrs)
        # start_span plus a manual attach costs about half of start_as_current_span's context manager.
        attrs = request.attrs
        conversation = conversation_attributes()
        if conversation:
            attrs = {**attrs, **conversation}
        span = self.tracer.start_span(request.span_name, kind=request.kind, attributes=attrs)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            if self.capture_content:
                system, chat = _input_messages(messages)
                if system:
                    span.set_attribute(A.SYSTEM_INSTRUCTIONS, system)
                span.set_attribute(A.INPUT_MESSAGES, chat)
            started = time.perf_counter()
            try:
                message = invoke(runtime, messages, kwargs)
            except BaseException as exc:
                error = record_error(span, exc, request.secrets)
                if error is not None:
                    self.metrics.record({**metric_attrs, A.ERROR_TYPE: error}, time.perf_counter() - started)
                raise
            # Telemetry must never break a run: a failure to describe the response is only logged.
            guarded(self._record_response, span, message, metric_attrs, time.perf_counter() - started)
        finally:
            otel_context.detach(token)
            span.end()
        return message

    def _record_response(self, span: trace.Span, message: Any, metric_attrs: dict[str, Any], seconds: float) -> None:
        response: dict[str, Any] = {}
        meta = getattr(message, "response_metadata", None) or {}
        response_model = meta.get("model_name") or meta.get("model")
        if isinstance(response_model, str) and response_model:
            response[A.RESPONSE_MODEL] = metric_attrs[A.RESPONSE_MODEL] = response_model
        response_id = meta.get("id")
        if isinstance(response_id, str) and response_id:
            response[A.RESPONSE_ID] = response_id
        finish = meta.get("finish_reason") or meta.get("stop_reason")
        if isinstance(finish, str) and finish:
            response[A.RESPONSE_FINISH_REASONS] = [finish]
        usage = getattr(message, "usage_metadata", None) or {}
        tokens_in = _int_or_none(usage.get("input_tokens"))
        tokens_out = _int_or_none(usage.get("output_tokens"))
        if tokens_in is not None:
            response[A.USAGE_INPUT_TOKENS] = tokens_in
        if tokens_out is not None:
            response[A.USAGE_OUTPUT_TOKENS] = tokens_out
        if self.capture_content:
            response[A.OUTPUT_MESSAGES] = _output_messages(message, finish)
        span.set_attributes(response)
        self.metrics.record(metric_attrs, seconds, tokens_in, tokens_out)
        scope = current_scope()
        if scope is not None:
            scope.add_usage(tokens_in or 0, tokens_out or 0)

    def _request(self, runtime: Any, kwargs: dict[str, Any]) -> _Request:
        # The request side of a span depends only on the runtime and two settings: build it once.
        key = (kwargs.get("temperature"), kwargs.get("max_tokens"))
        cached = self._requests.get(id(runtime))
        if cached is not None and cached[0] is runtime and cached[1] == key:
            return cached[2]
        request = _Request(runtime, kwargs)
        if len(self._requests) > 1024:  # graphs come and go; ids of dead runtimes are never hit again
            self._requests.clear()
        self._requests[id(runtime)] = (runtime, key, request)
        return request


class _Request:
    """The span name, kind and request attributes of one runtime's calls."""

    __slots__ = ("span_name", "kind", "attrs", "metric_attrs", "secrets")

    def __init__(self, runtime: Any, kwargs: dict[str, Any]) -> None:
        model = runtime.model
        request_model = runtime.model_name
        attrs: dict[str, Any] = {
            A.OPERATION_NAME: A.OP_CHAT,
            A.PROVIDER_NAME: provider_name(model),
            A.REQUEST_MODEL: request_model,
        }
        host, port = host_and_port(getattr(runtime.config, "base_url", None))
        if host:
            attrs[A.SERVER_ADDRESS] = host
            if port:
                attrs[A.SERVER_PORT] = port
        self.metric_attrs = dict(attrs)
        attrs[A.AGENT_NAME] = runtime.role
        temperature = kwargs.get("temperature", _field(model, "temperature"))
        if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
            attrs[A.REQUEST_TEMPERATURE] = float(temperature)
        max_tokens = kwargs.get("max_tokens") or _field(model, "max_tokens")
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            attrs[A.REQUEST_MAX_TOKENS] = max_tokens
        self.attrs = attrs
        self.span_name = f"{A.OP_CHAT} {request_model}"
        self.kind = SpanKind.CLIENT if host else SpanKind.INTERNAL
        self.secrets = _secrets_of(runtime)


def _field(model: Any, name: str) -> Any:
    # Plain attribute lookup on a pydantic model costs an exception when the field is absent.
    fields = getattr(model, "__dict__", None)
    return fields.get(name) if isinstance(fields, dict) else getattr(model, name, None)


def guarded(fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn``; a failure inside telemetry is logged, never raised into the run."""
    try:
        fn(*args)
    except Exception:
        log.debug("telemetry: %s failed", getattr(fn, "__name__", fn), exc_info=True)


def trace_call(invoke: Callable[..., Any]) -> Callable[..., Any]:
    """The ``RoleRuntime`` wrapper: each model call becomes a ``chat <model>`` span."""

    def traced_invoke(runtime: Any, messages: list[Any], kwargs: dict[str, Any]) -> Any:
        tracing = current()
        if tracing is None:
            return invoke(runtime, messages, kwargs)
        return tracing.call(invoke, runtime, messages, kwargs)

    return traced_invoke


# ---- helpers ------------------------------------------------------------------------------------
def record_error(span: trace.Span, exc: BaseException, secrets: Iterable[str] = ()) -> str | None:
    """Mark a span failed: status, ``error.type`` and a redacted exception event.

    Returns the error type, or ``None`` for LangGraph's control-flow signals (interrupts), which
    are not failures.
    """
    if isinstance(exc, GraphBubbleUp):
        return None
    error_type = _error_type(exc)
    span.set_attribute(A.ERROR_TYPE, error_type)
    try:
        message = redact(str(exc), secrets)[:2000]
        stack = redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), secrets)
    except Exception:  # an exception whose str() fails: keep its type only
        message, stack = "", ""
    span.set_status(Status(StatusCode.ERROR, f"{error_type}: {message}"[:500]))
    span.add_event("exception", {
        "exception.type": error_type,
        "exception.message": message,
        "exception.stacktrace": stack[-8000:],
    })
    return error_type


def _error_type(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def provider_name(model: Any) -> str:
    """``gen_ai.provider.name`` for a LangChain chat model."""
    name = type(model).__name__
    known = {
        "ChatOpenAI": "openai",
        "AzureChatOpenAI": "azure.ai.openai",
        "ChatAnthropic": "anthropic",
        "ChatMistralAI": "mistral_ai",
        "ChatGroq": "groq",
        "ChatDeepSeek": "deepseek",
        "LocalChatModel": "transformers",
        "ScriptedChatModel": "oyster.scripted",
    }
    if name in known:
        return known[name]
    try:
        llm_type = model._llm_type
    except Exception:  # a model without the LangChain identifier
        llm_type = None
    return llm_type if isinstance(llm_type, str) and llm_type else name


def _secrets_of(runtime: Any) -> list[str]:
    config = getattr(runtime, "config", None)
    return credentials(getattr(config, "api_key", None), getattr(config, "base_url", None))


def _input_messages(messages: Sequence[Any]) -> tuple[str | None, str]:
    system: list[dict[str, str]] = []
    chat: list[dict[str, Any]] = []
    for message in convert_to_messages(messages):
        role = convert_to_openai_messages(message)["role"]  # type: ignore[index]
        part = {"type": "text", "content": message.text}
        if role in ("system", "developer"):
            system.append(part)
        else:
            chat.append({"role": role, "parts": [part]})
    return (json.dumps(system, ensure_ascii=False) if system else None), json.dumps(chat, ensure_ascii=False)


def _output_messages(message: Any, finish: Any) -> str:
    out = {
        "role": "assistant",
        "parts": [{"type": "text", "content": _text_of(message)}],
        "finish_reason": finish if isinstance(finish, str) and finish else "stop",
    }
    return json.dumps([out], ensure_ascii=False)


def _text_of(message: Any) -> str:
    return message.text if isinstance(message, BaseMessage) else str(getattr(message, "content", ""))


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

