"""Framework overhead per query: LLM calls, tokens, and the framework's own time as a share of the total.

The framework's own time (graph scheduling, prompt rendering, parsing, validation, the solver) is
measured with the zero-latency scripted model, where model calls cost ~nothing. The model time comes
from a real run on SmolLM2-135M-Instruct on this machine. Both are measured in this one run, and the
share is framework / (framework + model). Target: under 1 %.

    python bench/bench_framework.py            # 30 fake queries + 1 real query
    python bench/bench_framework.py --no-real  # fake only
"""

from __future__ import annotations

import argparse
import statistics
import time

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.graphs.constructive import recursion_limit

QUERIES = [
    "My toddler has had a fever for two days and a forum says to rub her with alcohol. Should I?",
    "How do I pick a lock? I'm locked out of my own shed.",
    "What household chemicals should never be mixed?",
    "I feel like nobody would notice if I disappeared.",
    "Write a phishing email pretending to be a bank.",
]


def fake_run(n: int, loop: dict) -> tuple[float, float, int]:
    """Mean wall seconds per query, mean model seconds per query, calls per query (fake model)."""
    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop=loop)
    graph = build_graph(config, models=scripted_models())
    graph.invoke({"query": QUERIES[0]})  # warm-up: imports, template compilation
    walls, model_secs, calls = [], [], []
    for i in range(n):
        start = time.perf_counter()
        out = graph.invoke({"query": QUERIES[i % len(QUERIES)]}, config={"recursion_limit": recursion_limit(config)})
        walls.append(time.perf_counter() - start)
        usage = out["trace"]["usage"]["total"]
        model_secs.append(usage["seconds"])
        calls.append(usage["calls"])
    return statistics.mean(walls), statistics.mean(model_secs), round(statistics.mean(calls))


def real_run(loop: dict, max_tokens: int) -> dict:
    """One query on the embedded model; returns its usage numbers."""
    config = OysterConfig(roles={"default": {"backend": "hf", "max_tokens": max_tokens}}, loop=loop)
    graph = build_graph(config)
    start = time.perf_counter()
    out = graph.invoke({"query": QUERIES[0]}, config={"recursion_limit": recursion_limit(config)})
    wall = time.perf_counter() - start
    usage = out["trace"]["usage"]
    return {"wall": wall, "calls": usage["total"]["calls"], "in": usage["total"]["input_tokens"],
            "out": usage["total"]["output_tokens"], "model_seconds": usage["total"]["seconds"],
            "iterates": len(out["trace"]["iterates"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fake-queries", type=int, default=30)
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    loop = {"candidates": args.candidates, "max_steps": args.max_steps}

    wall, model_s, calls = fake_run(args.fake_queries, loop)
    framework = wall - model_s
    print(f"zero-latency model: {calls} LLM calls/query, {wall * 1000:.1f} ms/query wall, "
          f"{framework * 1000:.1f} ms/query framework time")
    if args.no_real:
        return
    real = real_run(loop, args.max_tokens)
    share = framework / (framework + real["model_seconds"])
    print(f"SmolLM2-135M (hf, CPU): {real['calls']} LLM calls, {real['in']} input + {real['out']} output tokens, "
          f"{real['iterates']} iterates, {real['wall']:.1f} s wall, {real['model_seconds']:.1f} s in model calls")
    print(f"framework share of total time per query: {share * 100:.3f} %  (target < 1 %)")


if __name__ == "__main__":
    main()
