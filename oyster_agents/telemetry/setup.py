"""``configure_tracing``: pick or build the tracer and meter providers, then switch tracing on.

The standard ``OTEL_*`` variables apply: ``OTEL_SDK_DISABLED``, ``OTEL_TRACES_EXPORTER``,
``OTEL_METRICS_EXPORTER`` (``none`` for backends that take traces only), ``OTEL_TRACES_SAMPLER``,
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_*`` (endpoint, headers,
timeout, protocol, compression), ``OTEL_BSP_*`` and
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from oyster_agents.errors import ConfigError
from oyster_agents.telemetry import _state
from oyster_agents.redact import safe_url

if TYPE_CHECKING:
    from oyster_agents.telemetry.spans import Tracing

log = logging.getLogger("oyster_agents.telemetry")

EXPORTERS = ("otlp", "console", "none")
SCOPE_NAME = "oyster_agents"
DEFAULT_SERVICE = "oyster-agents"

# The global tracer provider this module installed (set once per process, as the API allows).
_installed: dict[str, Any] = {}


def configure_tracing(
    exporter: str | None = None,
    endpoint: str | None = None,
    capture_content: bool | None = None,
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
) -> Tracing:
    """Switch tracing on for every graph built from now on.

    Args:
        exporter: ``"otlp"`` (OTLP over HTTP/protobuf), ``"console"`` (a span tree per run on
            stderr) or ``"none"`` (export through the application's own provider only).
            Defaults to ``OTEL_TRACES_EXPORTER``, else ``"otlp"``.
        endpoint: the OTLP base URL, e.g. ``http://localhost:4318``; defaults to the
            ``OTEL_EXPORTER_OTLP_*`` variables, else ``http://localhost:4318``.
        capture_content: record prompts and completions (``gen_ai.input.messages`` and
            ``gen_ai.output.messages``) and model-written text such as critic explanations.
            Off unless this is true or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
        tracer_provider: use this provider (the exporter is added to it) instead of the global one.
        meter_provider: use this provider for the GenAI metrics instead of the global one.

    Returns:
        The :class:`~oyster_agents.telemetry.spans.Tracing` handle; call ``shutdown()`` before
        exit to flush.

    Raises:
        ConfigError: an unknown exporter name, or a protocol whose exporter is not installed.

    A global ``TracerProvider`` that the application already set is kept as it is (its own
    processors export our spans; no exporter is added to it). With no application provider, one
    is created with the chosen exporter and set globally, so other instrumentation nests under
    our spans. ``exporter="none"`` with no provider anywhere leaves tracing off.
    """
    from opentelemetry import metrics, trace

    from oyster_agents._version import package_version
    from oyster_agents.telemetry.metrics import GenAIMetrics
    from oyster_agents.telemetry.spans import Tracing

    if _env_true("OTEL_SDK_DISABLED"):
        log.info("OTEL_SDK_DISABLED is set: tracing stays off")
        _switch(None, off=True)
        return Tracing(trace.NoOpTracer(), GenAIMetrics(metrics.NoOpMeter(SCOPE_NAME)))
    kind = _exporter_kind(exporter)
    capture = capture_content
    if capture is None:
        capture = _env_true("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    closers: list[Any] = []
    # Metrics are exported only alongside a global tracer provider we installed ourselves;
    # a caller passing its own tracer provider gets the global (or no-op) meter provider.
    owns_globals = False

    if tracer_provider is None:
        current = trace.get_tracer_provider()
        if current is _installed.get("traces"):
            tracer_provider = current
            owns_globals = True
            if kind != "none":
                closers.append(_add_span_exporter(current, kind, endpoint))
        elif isinstance(current, trace.ProxyTracerProvider):
            if kind == "none":
                log.info("no exporter and no application TracerProvider: tracing stays off")
                _switch(None)
                return Tracing(trace.NoOpTracer(), GenAIMetrics(metrics.NoOpMeter(SCOPE_NAME)))
            tracer_provider = _new_tracer_provider()
            closers.append(_add_span_exporter(tracer_provider, kind, endpoint))
            trace.set_tracer_provider(tracer_provider)
            _installed["traces"] = tracer_provider
            owns_globals = True
        else:
            # The application owns tracing: use its provider and exporters as they are.
            log.info("using the application's TracerProvider; its processors and exporters apply")
            tracer_provider = current
    elif kind != "none":
        closers.append(_add_span_exporter(tracer_provider, kind, endpoint))

    if meter_provider is None:
        meter_provider = metrics.get_meter_provider()
        metrics_on = os.environ.get("OTEL_METRICS_EXPORTER", "otlp").strip().lower() != "none"
        if owns_globals and kind == "otlp" and metrics_on and _is_unset(meter_provider):
            # Private to this tracing (not set globally), so shutdown() can stop it for good.
            pipeline = _new_meter_pipeline(endpoint)
            meter_provider = pipeline.provider
            closers.append(pipeline)

    tracer = tracer_provider.get_tracer(SCOPE_NAME, package_version())
    meter = meter_provider.get_meter(SCOPE_NAME, package_version())
    tracing = Tracing(tracer, GenAIMetrics(meter), capture_content=capture, closers=closers)
    _switch(tracing)
    log.info("tracing on: exporter=%s endpoint=%s content=%s", kind, safe_url(endpoint), capture)
    return tracing


def disable_tracing() -> None:
    """Switch tracing off, the application's global providers included, until ``configure_tracing``
    runs again; exporters it installed are flushed and stopped."""
    _switch(None, off=True)


def _switch(tracing: Any, *, off: bool = False) -> None:
    previous = _state.active()
    _state.set_active(tracing, off=off)
    if previous is not None and previous is not tracing:
        previous.shutdown()


def _exporter_kind(exporter: str | None) -> str:
    kind = exporter if exporter is not None else os.environ.get("OTEL_TRACES_EXPORTER", "otlp")
    kind = kind.split(",")[0].strip().lower() or "otlp"
    if kind not in EXPORTERS:
        raise ConfigError(f"unknown trace exporter {kind!r}; use one of {', '.join(EXPORTERS)}")
    return kind


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _sdk(module: str) -> Any:
    """Import part of the OpenTelemetry SDK, which is an optional extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"tracing needs the OpenTelemetry SDK ({exc.name} is missing): pip install 'oyster-agents[tracing]'"
        ) from exc


def _resource() -> Any:
    Resource = _sdk("opentelemetry.sdk.resources").Resource

    named = "OTEL_SERVICE_NAME" in os.environ or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return Resource.create({} if named else {"service.name": DEFAULT_SERVICE})


def _new_tracer_provider() -> Any:
    return _sdk("opentelemetry.sdk.trace").TracerProvider(resource=_resource())


def _add_span_exporter(provider: Any, kind: str, endpoint: str | None) -> Any:
    export = _sdk("opentelemetry.sdk.trace.export")
    BatchSpanProcessor, SimpleSpanProcessor = export.BatchSpanProcessor, export.SimpleSpanProcessor

    if kind == "console":
        from oyster_agents.telemetry.console import TreeConsoleExporter

        exporter: Any = TreeConsoleExporter()
        processor: Any = SimpleSpanProcessor(exporter)
    else:
        exporter = _otlp_span_exporter(endpoint)
        processor = BatchSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return _Pipeline(processor, exporter)


class _Pipeline:
    """A processor (or meter provider) and its exporter: stopped together, interruptible."""

    def __init__(self, provider: Any, exporter: Any) -> None:
        self.provider = provider
        self.exporter = exporter

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self.provider.force_flush(timeout_millis))

    def shutdown(self) -> None:
        self.provider.shutdown()

    def interrupt(self) -> None:
        """Stop the exporter now: an export stuck retrying an unreachable collector gives up."""
        self.exporter.shutdown()


def _protocol(signal: str) -> str:
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    return (value or "http/protobuf").strip().lower()


def _signal_url(endpoint: str, path: str) -> str:
    base = endpoint.rstrip("/")
    for known in ("/v1/traces", "/v1/metrics"):
        if base.endswith(known):
            base = base[: -len(known)]
    return f"{base}/{path}"


def _otlp_span_exporter(endpoint: str | None) -> Any:
    if _protocol("TRACES") == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
        except ImportError as exc:
            raise ConfigError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc; "
                "install it or use http/protobuf (port 4318)"
            ) from exc
        return GrpcSpanExporter(endpoint=endpoint)
    OTLPSpanExporter = _sdk("opentelemetry.exporter.otlp.proto.http.trace_exporter").OTLPSpanExporter

    return OTLPSpanExporter(endpoint=_signal_url(endpoint, "v1/traces") if endpoint else None)


def _new_meter_pipeline(endpoint: str | None) -> _Pipeline:
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if _protocol("METRICS") == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as Exporter
        except ImportError as exc:
            raise ConfigError("OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc") from exc
        exporter = Exporter(endpoint=endpoint)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(endpoint=_signal_url(endpoint, "v1/metrics") if endpoint else None)
    # Exemplars cost a third of each record on the hot path; OTEL_METRICS_EXEMPLAR_FILTER turns them on.
    exemplars = None if "OTEL_METRICS_EXEMPLAR_FILTER" in os.environ else AlwaysOffExemplarFilter()
    provider = MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(exporter)], resource=_resource(), exemplar_filter=exemplars
    )
    return _Pipeline(provider, exporter)


def _is_unset(meter_provider: Any) -> bool:
    from opentelemetry.metrics import NoOpMeterProvider

    # The API's placeholder before any set_meter_provider call is a private proxy class.
    return isinstance(meter_provider, NoOpMeterProvider) or type(meter_provider).__name__ == "_ProxyMeterProvider"
