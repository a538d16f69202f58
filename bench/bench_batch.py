"""Batch throughput: concurrency 1 against 4, 8 and 16, and against a naive one-call-at-a-time loop.

All runs use the same server and the same queries, in this one process:

* naive: each query runs the method's steps one model call at a time (no fan-out in parallel,
  one query after the other), as a straightforward script would;
* batch c=N: ``run_batch`` with N queries in flight, each fanning out its parallel calls.

Printed per run: wall time, queries/s, the ratio to concurrency 1 and to the naive loop, and the
LLM calls and tokens per query (from the traces).

Servers:
    --server transformers   start `transformers serve` on the embedded SmolLM2-135M (CPU default)
    --server local          no server: the in-process ``hf`` backend on the embedded SmolLM2-135M, whose
                            micro-batcher merges concurrent calls into one padded, grammar-constrained
                            generate (the CPU path of `oyster batch`; on a GPU, batched generate)
    --server sim            the latency-simulating test server (tests/_servers.py): shows what the
                            framework's concurrency gives when the server has room for every request
    --base-url URL --model NAME
                            an already running server, e.g. `vllm serve` on a GPU

    python bench/bench_batch.py --queries 4 --concurrency 1,4 --max-tokens 32      # CPU, small
    python bench/bench_batch.py --server sim --latency 0.3 --queries 32             # framework only
    python bench/bench_batch.py --server local --queries 8 --concurrency 1,4,8 --max-tokens 32
    python bench/bench_batch.py --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-7B-Instruct \\
        --queries 64 --concurrency 1,4,8,16 --candidates 4 --max-steps 3 --max-tokens 384   # GPU
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests._servers when run from anywhere

from oyster_agents import OysterConfig, build_graph  # noqa: E402
from oyster_agents.graphs.constructive import recursion_limit  # noqa: E402
from oyster_agents.runner import run_batch  # noqa: E402
from oyster_agents.runner.inputs import load_items  # noqa: E402


@contextlib.contextmanager
def backend_for(args: argparse.Namespace) -> Iterator[dict[str, object]]:
    """Yield the default role's backend settings for the server (or in-process model) to measure."""
    if args.base_url:
        yield {"backend": "openai", "base_url": args.base_url, "model": args.model or "default"}
        return
    if args.server == "local":
        yield {"backend": "hf", "model": "default"}
        return
    if args.server == "sim":
        from tests._servers import OpenAICompatServer

        with OpenAICompatServer(latency_s=args.latency, models=("sim",)) as server:
            yield {"backend": "openai", "base_url": server.base_url, "model": "sim"}
        return
    from oyster_agents.backends.default_model import default_model_path
    from tests.integration._serve import transformers_server

    folder = default_model_path()
    with transformers_server(folder) as base_url:
        # transformers serve ignores response_format, so none is sent
        yield {"backend": "openai", "base_url": base_url, "model": str(folder), "structured_output": "none"}


def per_query_usage(traces: list[dict]) -> tuple[float, float, float]:
    """Mean LLM calls, input tokens and output tokens per query."""
    totals = [t["usage"]["total"] for t in traces]
    return (statistics.mean(u["calls"] for u in totals), statistics.mean(u["input_tokens"] for u in totals),
            statistics.mean(u["output_tokens"] for u in totals))


def naive_run(config: OysterConfig, queries: list[dict]) -> tuple[float, list[dict]]:
    """Queries one after the other; inside each, one model call at a time (``max_concurrency=1``)."""
    graph = build_graph(config)
    run_config = {"recursion_limit": recursion_limit(config), "max_concurrency": 1}
    traces = []
    start = time.perf_counter()
    for query in queries:
        try:
            traces.append(graph.invoke(query, config=run_config)["trace"])
        except Exception as exc:  # count it like run_batch's error records, and go on
            print(f"  warning: naive run of {query['id']} failed: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
    return time.perf_counter() - start, traces


def batch_run(config: OysterConfig, queries: list[dict], concurrency: int, folder: Path) -> tuple[float, list[dict]]:
    """``run_batch`` at this concurrency into a fresh file; returns wall seconds and the traces."""
    out = folder / f"c{concurrency}.jsonl"
    start = time.perf_counter()
    summary = run_batch(queries, out, config=config, concurrency=concurrency, notify=lambda message: None)
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    if summary.failed:
        print(f"  warning: {summary.failed} queries failed at concurrency {concurrency}", file=sys.stderr)
    return wall, [r for r in records if r.get("status") != "error"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["transformers", "local", "sim"], default="transformers")
    parser.add_argument("--base-url", help="measure an already running OpenAI-compatible server")
    parser.add_argument("--model", help="model name on --base-url")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per request for --server sim")
    parser.add_argument("--queries", type=int, default=4, help="how many queries from examples/queries.jsonl")
    parser.add_argument("--concurrency", default="1,4,8,16", help="comma-separated levels; 1 is always run")
    parser.add_argument("--candidates", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    args = parser.parse_args()
    levels = sorted({1, *(int(c) for c in args.concurrency.split(",") if c.strip())})

    items, _ = load_items(ROOT / "examples" / "queries.jsonl", max_query_chars=32_000)
    pool = [item.graph_input() for item in items]
    queries = [{**pool[i % len(pool)], "id": f"b{i}"} for i in range(args.queries)]

    with backend_for(args) as backend, tempfile.TemporaryDirectory() as tmp:
        config = OysterConfig(
            roles={"default": {**backend, "max_tokens": args.max_tokens, "timeout_s": 600}},
            loop={"candidates": args.candidates, "max_steps": args.max_steps},
        )
        where = backend.get("base_url", "in-process hf backend")
        print(f"{where} model {backend['model']}: {len(queries)} queries, candidates {args.candidates}, "
              f"max_steps {args.max_steps}, max_tokens {args.max_tokens}", flush=True)
        run_batch(queries[:1], Path(tmp) / "warmup.jsonl", config=config, notify=lambda message: None)
        results: dict[str, tuple[float, list[dict]]] = {}
        if not args.no_naive:
            results["naive"] = naive_run(config, queries)
            print(f"  naive loop done in {results['naive'][0]:.1f} s", flush=True)
        for level in levels:
            results[f"c={level}"] = batch_run(config, queries, level, Path(tmp))
            print(f"  batch c={level} done in {results[f'c={level}'][0]:.1f} s", flush=True)

    base = results["c=1"][0]
    naive = results["naive"][0] if "naive" in results else None
    print(f"\n{'run':<8} {'wall s':>8} {'queries/s':>10} {'vs c=1':>8} {'vs naive':>9} "
          f"{'calls/q':>8} {'in tok/q':>9} {'out tok/q':>10}")
    for name, (wall, traces) in results.items():
        calls, tok_in, tok_out = per_query_usage(traces) if traces else (0.0, 0.0, 0.0)
        versus_naive = f"{naive / wall:>8.2f}x" if naive else f"{'-':>9}"
        print(f"{name:<8} {wall:>8.1f} {len(queries) / wall:>10.3f} {base / wall:>7.2f}x {versus_naive} "
              f"{calls:>8.1f} {tok_in:>9.0f} {tok_out:>10.0f}")
    best = min((v[0], k) for k, v in results.items() if k != "naive")
    if naive:
        print(f"\nspeed-up of the best batch run ({best[1]}) over the naive loop: {naive / best[0]:.2f}x")


if __name__ == "__main__":
    main()
