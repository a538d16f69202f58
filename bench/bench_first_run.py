"""The README's quick-start query on the embedded model: the old path and the new one, side by side.

Each path runs ``oyster run QUERY --json`` in a fresh process (cold: model load and grammar compiles
included; the one-time conversion is done first and not counted) and reports wall time, CPU time
(the child's user + system seconds, robust on a shared machine), calls, prompt tokens computed
(prompt tokens minus those served from the prefix cache), generated tokens, structured outputs that
needed no fallback, and generated tokens per second of call time per role. Then the ratios.

Paths:
  old       the settings before this work: every role capped at 256 tokens, no prefix cache, no
            string bounds in the grammar, torch's default threads, 4 strategies, 3 Lingo-BP steps
  new       ``--profile cpu-quick``: 3 strategies, always 3 iterates (the model's own answer, the game's
            answer, one revision), per-role budgets, prefix cache and string bounds on
  old-quick the old backend settings on the cpu-quick loop (3 strategies, 3 iterates): the backend's
            share alone
  new-full  the new backend with the full default loop (4 strategies, 3 steps)

Run: ``python bench/bench_first_run.py [--paths old,new] [--query TEXT]``. State the machine's load
(``uptime``) with the numbers: wall time on a shared machine says little, CPU seconds and tokens more.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERY = "My toddler has had a fever for two days and a forum says to rub her with alcohol. Should I?"

# The old path switches the string bounds off inside the child (they have no setting of their own).
_CHILD = """
import sys
import oyster_agents.backends.structured as structured
if sys.argv[1].startswith("old"):
    structured.MAX_STRING_CHARS = structured.MAX_ITEM_CHARS = None
from oyster_agents.cli import main
sys.exit(main(sys.argv[2:]))
"""

_OLD = ["--set", "roles.default.max_tokens=256", "--set", "roles.default.prefix_cache_mb=0"]
PATHS: dict[str, list[str]] = {
    "old": _OLD,
    "old-quick": [*_OLD, "--profile", "cpu-quick"],
    "new": ["--profile", "cpu-quick"],
    "new-full": [],
}


def run_path(name: str, query: str, timeout: float) -> dict:
    """Run one path in a child process; returns its measurements."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "trace.json"
        argv = [sys.executable, "-c", _CHILD, name, "run", query, "--json", "--no-progress", *PATHS[name]]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with out.open("w") as handle:
            proc = subprocess.run(argv, stdout=handle, stderr=subprocess.PIPE, text=True, timeout=timeout)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"path {name} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        trace = json.loads(out.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = trace["usage"]["total"]
    fallbacks = [f for f in trace["fallbacks"] if f["kind"] == "fallback_value"]
    per_role = {
        role: {
            "calls": u["calls"],
            "generated": u["output_tokens"],
            "prompt_computed": u["input_tokens"] - u.get("cached_tokens", 0),
            "tok_s": u["output_tokens"] / u["seconds"] if u["seconds"] else 0.0,
            "fallbacks": sum(1 for f in fallbacks if f["role"] == role),
        }
        for role, u in sorted(trace["usage"]["per_role"].items())
    }
    return {
        "path": name,
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": total["calls"],
        "prompt_tokens": total["input_tokens"],
        "prompt_computed": total["input_tokens"] - total.get("cached_tokens", 0),
        "generated": total["output_tokens"],
        "fallbacks": len(fallbacks),
        "candidates": len(trace["candidates"]),
        "iterates": len(trace["iterates"]),
        "per_role": per_role,
    }


def table(results: list[dict]) -> str:
    """Markdown table: one column per path, then old/new ratios."""
    rows = [("wall s", "wall_s", "{:.0f}"), ("CPU s", "cpu_s", "{:.0f}"), ("calls", "calls", "{}"),
            ("prompt tokens", "prompt_tokens", "{:,}"), ("prompt tokens computed", "prompt_computed", "{:,}"),
            ("generated tokens", "generated", "{:,}"), ("fallback values", "fallbacks", "{}"),
            ("strategies", "candidates", "{}"), ("iterates", "iterates", "{}")]
    names = [r["path"] for r in results]
    ratio = len(results) >= 2
    head = "| | " + " | ".join(names) + (f" | {names[0]} / {names[-1]} |" if ratio else " |")
    lines = [head, "|" + "---|" * (len(names) + 1 + ratio)]
    for label, key, fmt in rows:
        cells = [fmt.format(r[key]) for r in results]
        if ratio:
            last = results[-1][key]
            cells.append(f"{results[0][key] / last:.1f}×" if last else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| role | " + " | ".join(f"{n}: calls, computed prompt, generated, tok/s, fallbacks" for n in names) + " |")
    lines.append("|" + "---|" * (len(names) + 1))
    roles = sorted({role for r in results for role in r["per_role"]})
    for role in roles:
        cells = []
        for r in results:
            u = r["per_role"].get(role)
            cells.append("–" if u is None else
                         f"{u['calls']}, {u['prompt_computed']:,}, {u['generated']:,}, {u['tok_s']:.1f}, {u['fallbacks']}")
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default="old,new", help="comma-separated: old, old-quick, new, new-full")
    parser.add_argument("--query", default=QUERY)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per path")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results here")
    args = parser.parse_args()
    from oyster_agents.backends.default_model import default_model_path

    default_model_path()  # the one-time conversion is not part of the measurement
    load = os.getloadavg()
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    for name in args.paths.split(","):
        result = run_path(name.strip(), args.query, args.timeout)
        print(f"{name}: {result['wall_s']:.0f} s wall, {result['cpu_s']:.0f} s CPU, load now "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        results.append(result)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
