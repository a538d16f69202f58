"""Valid structured outputs per role on the embedded model: the backend's old settings and today's, side by side.

Runs the README's quick-start query and the 50 queries of ``examples/queries.jsonl`` through
``oyster batch`` (the micro-batcher gathers the concurrent queries' calls) on the cpu-quick loop, once
per path, and prints per role:

- structured calls (one per structured output the graph asked for; re-asks are not new calls),
- valid with no repair, valid after a repair or re-ask, fallback, and the rate
  valid-without-fallback / calls,
- p50 and p99 of the generated tokens of outputs valid as written that ended on their own, against
  the role's cap, and how many model calls were cut at the cap or closed early to fit it (finish
  reason ``closed``: valid, its last fields shortened).

Paths:
  before      the backend before this work: every role capped at 256 tokens, no string bounds in the
              grammar, no closing of objects before max_tokens
  after       today's defaults: per-role budgets, string bounds, closing
  after-int8  today's defaults with int8 linear layers (``roles.default.quantize=int8``)
  NAME        ``--variant NAME=FLAGS``: today's defaults plus CLI flags (a budget or setting to try)

All use ``--profile cpu-quick`` (3 strategies), one torch thread each. Whether one call yields a valid object depends on the
role, its prompt and the backend's settings, not on the number of strategies or iterates, so the small
loop measures the same rates at a lower cost. The prefix cache is on in every path: it gives the same greedy
tokens as running without it (``tests/unit/test_prefix_cache.py``), only sooner.

Each path logs every structured output as it ends (``OUT/<path>.structured.jsonl``: its query's id,
role, schema, calls, fallback or not) and appends one trace per finished query to ``OUT/<path>.jsonl``,
so a partial run still counts and rerunning the same command resumes it: queries already finished are
skipped, and the outputs logged for queries that did not finish are dropped before they run again.
``--shards N`` splits each path's queries over N children (``OUT/<path>.s<i>.*``) to use N cores.
``--report`` prints the tables from what is there.

    python bench/bench_structured_validity.py                    # the paths at once, into out/structured-validity
    python bench/bench_structured_validity.py --paths after --shards 2   # one path on two cores
    python bench/bench_structured_validity.py --report           # the tables from what is there
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time
from collections import Counter, defaultdict
from itertools import zip_longest
from pathlib import Path
from typing import Any

from _shared import CLI_CHILD, OLD_BUDGET, QUICKSTART_QUERY

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "queries.jsonl"
PATHS: dict[str, list[str]] = {"before": OLD_BUDGET, "after": [], "after-int8": ["--set", "roles.default.quantize=int8"]}
# One torch thread per child: the paths run at once (greedy tokens do not depend on the thread count).
COMMON = ["--profile", "cpu-quick", "--set", "roles.default.threads=1"]


def query_rows(limit: int | None) -> list[dict[str, Any]]:
    """The quick-start query, then the examples interleaved by kind (a partial run covers every kind)."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in EXAMPLES.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_kind[row.get("kind", "")].append({"id": row["id"], "query": row["query"]})
    rows = [{"id": "quickstart", "query": QUICKSTART_QUERY}]
    for group in zip_longest(*by_kind.values()):
        rows += [row for row in group if row is not None]
    return rows[:limit] if limit else rows


def shard_stems(name: str, shards: int) -> list[str]:
    """The file stems of one path: ``NAME``, or ``NAME.s0`` … when its queries are split in shards."""
    return [name] if shards == 1 else [f"{name}.s{i}" for i in range(shards)]


def keep_finished_outputs(out: Path, stem: str) -> None:
    """Drop the logged outputs of queries that did not finish: a resumed run asks for them again."""
    log = out / f"{stem}.structured.jsonl"
    finished = {record.get("id") for record in load_lines(out / f"{stem}.jsonl")}
    kept = [record for record in load_lines(log) if record.get("id") in finished]
    if log.is_file():
        log.write_text("".join(json.dumps(record) + "\n" for record in kept))


def start_path(name: str, stem: str, out: Path, concurrency: int, loop: list[str]) -> subprocess.Popen:
    """``oyster batch`` for one path's queries (or one shard of them) in a child process (log: ``OUT/<stem>.log``)."""
    argv = [sys.executable, "-c", CLI_CHILD, name, "--structured-log", str(out / f"{stem}.structured.jsonl"),
            "batch", str(out / f"{stem}.queries.jsonl"), "--out",
            str(out / f"{stem}.jsonl"), "--concurrency", str(concurrency), "--no-progress",
            *COMMON, *loop, *PATHS[name]]
    log = (out / f"{stem}.log").open("a")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def role_rows(outputs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per role: structured outputs and their outcomes, generated tokens of clean ones, caps, cuts."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "structured": 0, "clean": 0, "repaired": 0, "fallback": 0, "model_calls": 0, "cut": 0, "closed": 0,
        "tokens": [], "caps": set()})
    for output in outputs:
        row, calls = rows[output["role"]], output["calls"]
        row["structured"] += 1
        if output["fallback"]:
            row["fallback"] += 1
        elif calls[0].get("parsed") == "valid":
            row["clean"] += 1
            if calls[0].get("finish_reason") == "stop":  # ended on its own: its natural length
                row["tokens"].append(calls[0]["output_tokens"])
        else:
            row["repaired"] += 1
        for call in calls:
            row["model_calls"] += 1
            row["cut"] += call.get("finish_reason") == "length"
            row["closed"] += call.get("finish_reason") == "closed"
            if call.get("max_tokens"):
                row["caps"].add(call["max_tokens"])
    return dict(rows)


def _pct(values: list[int], q: float) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    return str(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)])


def path_table(name: str, outputs: list[dict[str, Any]], finished: int) -> str:
    """Markdown table for one path."""
    rows = role_rows(outputs)
    lines = [f"{name}: {len(outputs)} structured outputs, {finished} queries finished",
             "| role | structured outputs | valid, no repair | valid after repair | fallback | rate | "
             "generated p50 / p99 (valid, ended on its own) | cap | model calls: cut at the cap, closed early, all |",
             "|---|---|---|---|---|---|---|---|---|"]
    total = Counter()
    for role, r in sorted(rows.items()):
        caps = "/".join(str(c) for c in sorted(r["caps"])) or "–"
        rate = f"{(r['clean'] + r['repaired']) / r['structured']:.0%}"
        lines.append(f"| {role} | {r['structured']} | {r['clean']} | {r['repaired']} | {r['fallback']} | {rate} | "
                     f"{_pct(r['tokens'], 0.5)} / {_pct(r['tokens'], 0.99)} | {caps} | "
                     f"{r['cut']}, {r['closed']}, {r['model_calls']} |")
        total.update({k: r[k] for k in ("structured", "clean", "repaired", "fallback")})
    if total["structured"]:
        rate = (total["clean"] + total["repaired"]) / total["structured"]
        lines.append(f"| all | {total['structured']} | {total['clean']} | {total['repaired']} | "
                     f"{total['fallback']} | {rate:.0%} | | | |")
    return "\n".join(lines)


def comparison(results: dict[str, list[dict[str, Any]]]) -> str:
    """Valid-without-fallback rate per role, one column per path."""
    rows = {name: role_rows(outputs) for name, outputs in results.items()}
    roles = sorted({role for r in rows.values() for role in r})
    lines = ["| role | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for role in roles:
        cells = []
        for name in results:
            r = rows[name].get(role)
            ok = (r["clean"] + r["repaired"]) if r else 0
            cells.append(f"{ok}/{r['structured']} = {ok / r['structured']:.0%}" if r else "–")
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file (a torn last line left out)."""
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/structured-validity", help="folder for the queries, traces and logs")
    parser.add_argument("--paths", default="before,after,after-int8",
                        help="comma-separated: before, after, after-int8, or a --variant")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                        help="another path: today's defaults plus these CLI flags, e.g. "
                             "'sim192=--set roles.user_simulator.max_tokens=192'")
    parser.add_argument("--concurrency", type=int, default=8, help="queries in flight per path (default 8)")
    parser.add_argument("--limit", type=int, help="only the first N queries (the quick-start query first)")
    parser.add_argument("--iterates", type=int, metavar="N",
                        help="Lingo-BP iterates per query instead of the profile's 3 (1: the model's own answer "
                             "only, no revision; cheaper, every role but the revision itself still runs)")
    parser.add_argument("--sequential", action="store_true", help="one path after the other, not all at once")
    parser.add_argument("--shards", type=int, default=1, metavar="N",
                        help="split each path's queries over N children (one torch thread each), to use N cores")
    parser.add_argument("--report", action="store_true", help="print the tables from what the paths logged so far")
    args = parser.parse_args()
    for variant in args.variant:
        name, _, flags = variant.partition("=")
        PATHS[name.strip()] = shlex.split(flags)
    loop = ["--max-steps", str(args.iterates), "--set", f"loop.min_steps={args.iterates}"] if args.iterates else []
    out = Path(args.out)
    names = [n.strip() for n in args.paths.split(",")]
    if not args.report:
        from oyster_agents.backends.default_model import default_model_path

        default_model_path()  # the one-time conversion happens before the children start
        out.mkdir(parents=True, exist_ok=True)
        rows = query_rows(args.limit)
        total = len(rows)
        for name in names:
            for shard, stem in enumerate(shard_stems(name, args.shards)):
                shard_rows = rows[shard::args.shards]
                (out / f"{stem}.queries.jsonl").write_text("".join(json.dumps(row) + "\n" for row in shard_rows))
                keep_finished_outputs(out, stem)
        print(f"{total} queries, paths {', '.join(names)}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs; traces and logs under {out}/", flush=True)
        started = time.perf_counter()
        waves = [[n] for n in names] if args.sequential else [names]
        for wave in waves:
            children = {stem: start_path(name, stem, out, args.concurrency, loop)
                        for name in wave for stem in shard_stems(name, args.shards)}
            for stem, child in children.items():
                if child.wait() != 0:
                    print(f"{stem}: oyster batch exited {child.returncode} (see {out / (stem + '.log')})", flush=True)
        print(f"finished in {time.perf_counter() - started:.0f} s wall", flush=True)
    def path_files(name: str, suffix: str) -> list[Path]:
        return [out / f"{name}{suffix}", *sorted(out.glob(f"{name}.s[0-9]*{suffix}"))]

    results = {name: [r for f in path_files(name, ".structured.jsonl") for r in load_lines(f)] for name in names}
    for name, outputs in results.items():
        finished = sum("usage" in record for f in path_files(name, ".jsonl") for record in load_lines(f))
        print()
        print(path_table(name, outputs, finished))
    if len(results) > 1 and all(results.values()):
        print()
        print(comparison(results))


if __name__ == "__main__":
    main()
