"""Framework overhead per query: LLM calls, tokens, and the framework's own time as a share of the total.

The framework's own time (graph scheduling, prompt rendering, parsing, validation, the solver) is
measured with the zero-latency scripted model, where model calls cost ~nothing. The model time comes
from a real run on SmolLM2-135M-Instruct on this machine. Both are measured in this one run, and the
share is framework / (framework + model). Target: under 1 %.

Calls and tokens per query are printed side by side for the two starts of the loop
(``loop.initial``): ``guided`` (the answer is first written from the game's strategy, as before the
game was played on answers, plus the three reactions per iterate) and ``unguided`` (iterate 0 is the
model's own answer, its chain extracted). A model with a fixed latency per call then shows that the
calls of one step run concurrently: the wall time per query against the sum of its calls' latencies.

    python bench/bench_framework.py            # 30 fake queries per start + 1 real query per start
    python bench/bench_framework.py --no-real  # fake only
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from _shared import SAMPLE_QUERIES

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import minimal_instance, scripted_models
from oyster_agents.graphs.constructive import recursion_limit

QUERIES = SAMPLE_QUERIES
STARTS = ("guided", "unguided")


def fake_run(n: int, loop: dict) -> dict[str, Any]:
    """Means per query on the zero-latency scripted model: wall and model seconds, calls, iterates,
    and calls per role."""
    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop=loop)
    graph = build_graph(config, models=scripted_models())
    graph.invoke({"query": QUERIES[0]})  # warm-up: imports, template compilation
    walls, model_secs, calls, iterates, roles = [], [], [], [], {}
    for i in range(n):
        start = time.perf_counter()
        out = graph.invoke({"query": QUERIES[i % len(QUERIES)]}, config={"recursion_limit": recursion_limit(config)})
        walls.append(time.perf_counter() - start)
        usage = out["trace"]["usage"]
        model_secs.append(usage["total"]["seconds"])
        calls.append(usage["total"]["calls"])
        iterates.append(len(out["trace"]["iterates"]))
        for role, used in usage["per_role"].items():
            roles.setdefault(role, []).append(used["calls"])
    return {"wall": statistics.mean(walls), "model_seconds": statistics.mean(model_secs),
            "calls": statistics.mean(calls), "iterates": statistics.mean(iterates),
            "roles": {r: statistics.mean(v) for r, v in sorted(roles.items())}}


def latency_run(loop: dict, latency_s: float) -> tuple[float, float]:
    """One query on a scripted model that takes ``latency_s`` per call: (wall seconds, summed call seconds)."""

    def slow(messages: Any, schema: Any) -> str:
        import json

        time.sleep(latency_s)
        return json.dumps(minimal_instance(schema)) if schema else "A short answer."

    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop=loop)
    graph = build_graph(config, models=scripted_models({role: [slow] for role in scripted_models()}))
    start = time.perf_counter()
    out = graph.invoke({"query": QUERIES[0]}, config={"recursion_limit": recursion_limit(config)})
    return time.perf_counter() - start, out["trace"]["usage"]["total"]["calls"] * latency_s


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
    parser.add_argument("--latency-ms", type=float, default=200.0, help="per-call latency of the concurrency check")
    args = parser.parse_args()

    fake = {start: fake_run(args.fake_queries, {"candidates": args.candidates, "max_steps": args.max_steps,
                                                 "initial": start})
            for start in STARTS}
    print(f"zero-latency model, K={args.candidates}, max_steps={args.max_steps} (guided | unguided):")
    print(f"  LLM calls/query        {fake['guided']['calls']:6.1f} | {fake['unguided']['calls']:6.1f}"
          f"   ratio {fake['unguided']['calls'] / fake['guided']['calls']:.2f}")
    print(f"  iterates/query         {fake['guided']['iterates']:6.1f} | {fake['unguided']['iterates']:6.1f}")
    for role in sorted(set(fake["guided"]["roles"]) | set(fake["unguided"]["roles"])):
        print(f"  {role:<22} {fake['guided']['roles'].get(role, 0):6.1f} | {fake['unguided']['roles'].get(role, 0):6.1f}")
    reactions = {start: fake[start]["roles"]["user_simulator"] - 3 * args.candidates for start in STARTS}
    print(f"  of which reactions to answers {reactions['guided']:.1f} | {reactions['unguided']:.1f} "
          f"(3 per iterate); without them and with a one-call assessment (the method before the game was "
          f"played on answers) a guided query took {fake['guided']['calls'] - reactions['guided'] - 1:.1f} calls")
    for start in STARTS:
        framework = fake[start]["wall"] - fake[start]["model_seconds"]
        print(f"  {start}: {fake[start]['wall'] * 1000:.1f} ms/query wall, {framework * 1000:.1f} ms/query framework time")
    for start in STARTS:
        wall, serial = latency_run({"candidates": args.candidates, "max_steps": args.max_steps, "initial": start},
                                   args.latency_ms / 1000)
        print(f"{args.latency_ms:g} ms per call, {start}: {wall:.2f} s wall against {serial:.2f} s of calls "
              f"one at a time ({serial / wall:.1f}x from concurrent calls)")
    if args.no_real:
        return
    for start in STARTS:
        loop = {"candidates": args.candidates, "max_steps": args.max_steps, "initial": start}
        real = real_run(loop, args.max_tokens)
        framework = fake[start]["wall"] - fake[start]["model_seconds"]
        share = framework / (framework + real["model_seconds"])
        print(f"SmolLM2-135M (hf, CPU), {start}: {real['calls']} LLM calls, {real['in']} input + {real['out']} output "
              f"tokens, {real['iterates']} iterates, {real['wall']:.1f} s wall, {real['model_seconds']:.1f} s in model "
              f"calls; framework share {share * 100:.3f} %  (target < 1 %)")


if __name__ == "__main__":
    main()
