"""Tracing overhead per query: the same graph with tracing on and off, side by side in one run.

Uses the zero-latency scripted model, so the overhead is measured against the framework's own time
(the worst case: with a real model, model time dwarfs both). The traced graph exports through the
batch span processor over OTLP/HTTP to a receiver in a separate process (``--export otlp``, the
default) or to an in-process sink (``--export memory``), and records the GenAI metrics.

Three variants run in rotating blocks of queries, so changes in machine load hit all alike: off (a
graph built with tracing off), spans only (no-op meter), and spans plus the two GenAI histograms.
Two measures per block:

* wall time per query: what a caller waits (export happens in the background, as in production);
* CPU time of the whole process per query, the traced block's export included (the block ends
  with a flush): the cost that holds up best when other processes share the cores.

Target: under 5 %.

``--no-sdk`` measures what the always-installed instrumentation costs an app with only the
OpenTelemetry API (the SDK made unimportable): the same graph built with and without the
instrumentation hooks, side by side. Target: no measurable difference.

    python bench/bench_tracing.py                       # 12 blocks of 10 queries per variant
    python bench/bench_tracing.py --blocks 30 --capture-content
    python bench/bench_tracing.py --no-sdk
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from typing import Any

from _shared import SAMPLE_QUERIES

if "--no-sdk" in sys.argv:  # before anything imports it: the SDK and exporters cannot be imported

    class _NoSdk:
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
            if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by --no-sdk)", name=name)

    sys.meta_path.insert(0, _NoSdk())

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.graphs.constructive import recursion_limit
from oyster_agents.telemetry import configure_tracing, disable_tracing


if "--no-sdk" not in sys.argv:
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
else:
    SpanExporter = object  # type: ignore[assignment,misc]

QUERIES = SAMPLE_QUERIES

# A throwaway OTLP/HTTP endpoint in its own process: it reads each request and answers 200.
_RECEIVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class CountingExporter(SpanExporter):
    """An in-process sink: counts spans, keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


def spans_per_query(graph: Any, config: OysterConfig, capture: bool) -> int:
    """Count the spans of one traced query with a separate, synchronous provider."""
    counter = CountingExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(counter))
    configure_tracing("none", capture_content=capture, tracer_provider=provider)
    graph.invoke({"query": QUERIES[0]}, config={"recursion_limit": recursion_limit(config)})
    disable_tracing()
    return counter.count


def uninstrumented_graph(config: OysterConfig) -> Any:
    """The same graph without the tracing hooks (the baseline of ``--no-sdk``)."""
    import oyster_agents.graphs._hooks as node_hooks
    import oyster_agents.graphs.constructive as constructive

    hooks = node_hooks.instrument, constructive.instrument_graph
    node_hooks.instrument = lambda runtimes: {}
    constructive.instrument_graph = lambda compiled: compiled
    try:
        return build_graph(config, models=scripted_models())
    finally:
        node_hooks.instrument, constructive.instrument_graph = hooks


def no_sdk_cost(config: OysterConfig, blocks: int, block_size: int) -> None:
    """Instrumented vs uninstrumented graph with only the OpenTelemetry API importable."""
    run_config = {"recursion_limit": recursion_limit(config)}
    graphs = {"hooks off": uninstrumented_graph(config), "hooks on": build_graph(config, models=scripted_models())}
    names = list(graphs)
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for b in range(blocks + 1):  # block 0 warms up
        for name in names[b % 2:] + names[: b % 2]:
            started = time.process_time()
            for i in range(block_size):
                graphs[name].invoke({"query": QUERIES[i % len(QUERIES)]}, config=run_config)
            if b:
                cpu[name].append((time.process_time() - started) / block_size)
    sdk = sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk"))
    paired = statistics.median(b / a for a, b in zip(cpu["hooks off"], cpu["hooks on"], strict=True))
    print(f"no SDK installed ({'none imported' if not sdk else sdk}): {blocks} blocks x {block_size} queries")
    print(f" CPU time: hooks off {statistics.median(cpu['hooks off']) * 1000:.1f} ms/query, "
          f"hooks on {statistics.median(cpu['hooks on']) * 1000:.1f} ms ({(paired - 1) * 100:+.1f} %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=12, help="blocks per variant")
    parser.add_argument("--block-size", type=int, default=10, help="queries per block")
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--export", choices=["otlp", "memory"], default="otlp")
    parser.add_argument("--capture-content", action="store_true", help="also record prompts and completions")
    parser.add_argument("--no-sdk", action="store_true", help="the cost of the hooks when only the API is installed")
    args = parser.parse_args()

    config = OysterConfig(roles={"default": {"backend": "fake"}},
                          loop={"candidates": args.candidates, "max_steps": args.max_steps})
    if args.no_sdk:
        no_sdk_cost(config, args.blocks, args.block_size)
        return
    run_config = {"recursion_limit": recursion_limit(config)}
    plain = uninstrumented_graph(config)  # the untraced baseline: no hooks at all

    receiver = None
    provider = TracerProvider()
    if args.export == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        receiver = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_RECEIVER)], stdout=subprocess.PIPE, text=True
        )
        port = int(receiver.stdout.readline())
        exporter: SpanExporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")
    else:
        exporter = CountingExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    # Without exemplars, like the meter provider configure_tracing builds for OTLP.
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()], exemplar_filter=AlwaysOffExemplarFilter())
    variants: dict[str, dict[str, Any] | None] = {  # what each block switches on (None: the untraced graph)
        "off": None,
        "spans": {"meter_provider": NoOpMeterProvider()},
        "spans+metrics": {"meter_provider": meters},
    }
    names = list(variants)
    configure_tracing("none", tracer_provider=provider)
    traced = build_graph(config, models=scripted_models())

    def block(name: str, start: int) -> tuple[list[float], float]:
        switch = variants[name]
        if switch is not None:
            configure_tracing("none", capture_content=args.capture_content, tracer_provider=provider, **switch)
        graph = plain if switch is None else traced
        walls = []
        cpu_start = time.process_time()
        for i in range(start, start + args.block_size):
            began = time.perf_counter()
            graph.invoke({"query": QUERIES[i % len(QUERIES)]}, config=run_config)
            walls.append(time.perf_counter() - began)
        if switch is not None:
            provider.force_flush()  # this block's export counts against it
        return walls, (time.process_time() - cpu_start) / args.block_size

    try:
        for name in names:  # warm-up: imports, template compilation, first spans
            block(name, 0)
        wall: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for b in range(args.blocks):
            for name in names[b % 3:] + names[: b % 3]:  # rotate which variant goes first
                walls, cpu_per_query = block(name, b * args.block_size)
                wall[name].extend(walls)
                cpu[name].append(cpu_per_query)
    finally:
        disable_tracing()
        provider.shutdown()
        if receiver is not None:
            receiver.terminate()
    n_spans = spans_per_query(traced, config, args.capture_content)

    print(f"{args.blocks} blocks x {args.block_size} queries per variant, {n_spans} spans/query, "
          f"export={args.export}, content={'on' if args.capture_content else 'off'}")
    for label, series in (("CPU time", cpu), ("wall time", wall)):
        parts = [f"off {statistics.median(series['off']) * 1000:.1f} ms/query"]
        for name in names[1:]:
            # Neighbouring blocks ran the same queries close in time: their ratio cancels slow drift.
            paired = statistics.median(b / a for a, b in zip(series["off"], series[name], strict=True))
            parts.append(f"{name} {statistics.median(series[name]) * 1000:.1f} ms ({(paired - 1) * 100:+.1f} %)")
        print(f"{label:>9}: " + ", ".join(parts))
    per_span = (statistics.median(cpu["spans"]) - statistics.median(cpu["off"])) / n_spans
    print(f"CPU per span, export included: {per_span * 1e6:.0f} µs.  Target: overhead < 5 %")

if __name__ == "__main__":
    main()
