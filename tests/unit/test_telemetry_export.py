"""Tracing export: OTLP/HTTP to a receiver on localhost, an unreachable collector, the console tree, the CLI flag.

Tests that need the process-global providers run in a subprocess, so this process stays clean.
"""

from __future__ import annotations

import gzip
import io
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.errors import ConfigError
from oyster_agents.telemetry import active_tracing, configure_tracing, disable_tracing
from oyster_agents.telemetry.console import TreeConsoleExporter

QUERY = "Is it safe to give a toddler adult fever medicine?"
CHAT_KEYS = {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
             "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.agent.name"}


def small_config() -> OysterConfig:
    return OysterConfig(loop={"candidates": 1, "max_steps": 1}, roles={"default": {"backend": "fake"}})


class Receiver:
    """A minimal OTLP/HTTP collector: decodes trace and metric export requests (protobuf)."""

    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    receiver.traces.append(ExportTraceServiceRequest.FromString(body))
                elif self.path == "/v1/metrics":
                    receiver.metrics.append(ExportMetricsServiceRequest.FromString(body))
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self) -> list:
        return [span for request in self.traces for rs in request.resource_spans
                for ss in rs.scope_spans for span in ss.spans]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


def attrs(key_values) -> dict:
    out = {}
    for kv in key_values:
        which = kv.value.WhichOneof("value")
        value = getattr(kv.value, which)
        if which == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        out[kv.key] = value
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_otlp_http_export_is_decodable(receiver):
    tracing = configure_tracing(
        "otlp", endpoint=receiver.url, tracer_provider=TracerProvider(resource=Resource.create({"service.name": "t"}))
    )
    try:
        out = build_graph(small_config(), models=scripted_models()).invoke({"query": QUERY})
        assert tracing.force_flush(10_000)
    finally:
        disable_tracing()
    spans = receiver.spans()
    assert len(spans) > 10
    by_id = {s.span_id: s for s in spans}
    roots = [s for s in spans if not s.parent_span_id]
    assert [r.name for r in roots] == ["invoke_workflow oyster"]
    assert roots[0].trace_id.hex() == out["trace"]["trace_id"]
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == out["trace"]["usage"]["total"]["calls"]
    for chat in chats:
        parent = by_id[chat.parent_span_id]
        assert parent.name.startswith("invoke_agent ")
        chat_attrs = attrs(chat.attributes)
        assert CHAT_KEYS <= set(chat_attrs)
        assert attrs(parent.attributes)["gen_ai.agent.name"] == chat_attrs["gen_ai.agent.name"]
        assert "gen_ai.input.messages" not in chat_attrs
    step = next(s for s in spans if s.name == "lingo_bp.step")
    assert {attrs(e.attributes)["gen_ai.evaluation.name"] for e in step.events} == {"safety", "satisfaction"}


def test_unreachable_collector_neither_blocks_nor_breaks(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TIMEOUT", raising=False)  # the default: 10 s of retries
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "5")  # export while the run is still going
    graph_args = {"models": scripted_models()}
    plain = build_graph(small_config(), **graph_args)
    started = time.perf_counter()
    plain.invoke({"query": QUERY})
    untraced = time.perf_counter() - started

    tracing = configure_tracing("otlp", endpoint=f"http://127.0.0.1:{free_port()}", tracer_provider=TracerProvider())
    try:
        graph = build_graph(small_config(), **graph_args)
        started = time.perf_counter()
        out = graph.invoke({"query": QUERY})
        traced = time.perf_counter() - started
        assert out["answer"] and out["trace"]["trace_id"]
        # Exports fail in the background; the run does not wait for them (generous bound: CI is noisy).
        assert traced < 5 * untraced + 2.0, (traced, untraced)
        started = time.perf_counter()
        tracing.shutdown(timeout_s=1.0)  # gives up on the dead collector instead of retrying for 10 s
        assert time.perf_counter() - started < 5
    finally:
        disable_tracing()


def test_console_tree_nests_by_indentation():
    out = io.StringIO()
    provider = TracerProvider()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(TreeConsoleExporter(out)))
    configure_tracing("none", tracer_provider=provider)
    try:
        build_graph(small_config(), models=scripted_models()).invoke({"query": QUERY})
    finally:
        disable_tracing()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("trace ") and lines[1].startswith("invoke_workflow oyster")
    depth = {}
    for line in lines[2:]:
        name = line.lstrip("│├└─ ·")
        indent = len(line) - len(name)
        if name.startswith(("invoke_agent", "chat", "lingo_bp.step")):
            depth.setdefault(name.split("  ")[0], set()).add(indent)
    assert depth["invoke_agent risk_assessor"] == {3}
    assert depth["lingo_bp.step"] == {3}
    # the responder writes the unguided iterate 0 under the root (later answers inside a step)
    assert 3 in depth["invoke_agent responder"] <= {3, 6}
    assert depth["invoke_agent safety_critic"] == {6}
    assert depth["chat scripted"] == {6, 9}  # under root-level agents and under step agents
    assert any("safety: safe" in line for line in lines)


def test_exporter_name_is_checked_and_sdk_disabled_is_honoured(monkeypatch):
    with pytest.raises(ConfigError, match="jaeger"):
        configure_tracing("jaeger", tracer_provider=TracerProvider())
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    configure_tracing("console", tracer_provider=TracerProvider())
    assert active_tracing() is None


def test_none_without_any_provider_stays_off():
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        pytest.skip("a global TracerProvider was set earlier in this process")
    configure_tracing("none")
    assert active_tracing() is None


# ---- process-global setups, each in its own interpreter ----------------------------------------
_FAKE_CLI = """
import sys
import oyster_agents.backends as backends
from oyster_agents.backends.fake import scripted_models
backends.make_models = lambda config: scripted_models()
from oyster_agents import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    clean.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          env=clean, timeout=120, check=False)


def test_cli_trace_console_prints_the_span_tree():
    done = _python(_FAKE_CLI, "run", QUERY, "--trace", "console", "--max-steps", "1", "--candidates", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and "invoke_workflow" not in done.stdout  # the answer alone on stdout
    tree = done.stderr
    assert "invoke_workflow oyster" in tree and "├─ invoke_agent risk_assessor" in tree
    assert "│  └─ chat scripted" in tree and "lingo_bp.step" in tree


def test_cli_trace_otlp_installs_global_providers(receiver):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "oyster-ci"}
    done = _python(_FAKE_CLI, "run", QUERY, "--trace", "otlp", "--max-steps", "1", "--candidates", "1", env=env)
    assert done.returncode == 0, done.stderr
    assert any(s.name == "invoke_workflow oyster" for s in receiver.spans())
    resource = attrs(receiver.traces[0].resource_spans[0].resource.attributes)
    assert resource["service.name"] == "oyster-ci"
    names = {metric.name for request in receiver.metrics for rm in request.resource_metrics
             for sm in rm.scope_metrics for metric in sm.metrics}
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"} <= names


def test_application_tracer_provider_is_kept():
    code = """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    memory = InMemorySpanExporter()
    app = TracerProvider()
    app.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(app)

    from oyster_agents import OysterConfig, build_graph, configure_tracing
    from oyster_agents.backends.fake import scripted_models
    tracing = configure_tracing("console")
    assert trace.get_tracer_provider() is app
    config = OysterConfig(loop={"candidates": 1, "max_steps": 1}, roles={"default": {"backend": "fake"}})
    graph = build_graph(config, models=scripted_models())
    with app.get_tracer("app").start_as_current_span("app request") as outer:
        out = graph.invoke({"query": "hello"})
    tracing.shutdown()
    spans = memory.get_finished_spans()
    root = next(s for s in spans if s.name == "invoke_workflow oyster")
    assert root.parent.span_id == outer.get_span_context().span_id
    assert out["trace"]["trace_id"] == f"{outer.get_span_context().trace_id:032x}"
    print("spans", len(spans))
    """
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("spans ") and int(done.stdout.split()[1]) > 10
    assert "invoke_workflow" not in done.stderr  # no console exporter was added to the app's provider
