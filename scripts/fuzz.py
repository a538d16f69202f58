"""The long fuzzing run: hostile inputs on every input surface for N minutes, figures into a ledger.

Each surface of ``tests/reliability/_fuzz.py`` gets an equal share of the time. Hypothesis draws
fresh inputs round after round; an input that breaks the property (an unexpected exception, a
traceback, a leaked secret, memory over the bound, a lost record, or no answer within
``--hang-s``) is shrunk by hypothesis and recorded once. The ledger (inputs tried per surface,
failures found, and the defects fixed with their regression tests) is what
``scripts/reliability_report.py`` renders into RELIABILITY.md.

Usage::

    nice python scripts/fuzz.py --minutes 5                  # all surfaces, writes the ledger
    python scripts/fuzz.py --minutes 1 --surface "config files" --no-ledger
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "tests" / "reliability" / "fuzz_ledger.json"


class Hang(Exception):
    """One input ran past the hang bound."""


def fuzz_surface(surface: Any, seconds: float, hang_s: float) -> dict[str, Any]:
    """Fuzz one surface for ``seconds``; returns inputs tried and distinct failures."""
    from hypothesis import HealthCheck, given, settings

    tried = 0
    failures: dict[str, str] = {}

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {hang_s:.0f} s")

    def check(case: Any) -> None:
        nonlocal tried
        tried += 1
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, hang_s)
        try:
            surface.check(case)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                       print_blob=False)(given(surface.strategy())(check))
        try:
            run()
        except Exception as exc:  # a property failed: hypothesis has shrunk it to a minimal input
            summary = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            if summary not in failures:
                failures[summary] = str(exc)[-1500:]
                print(f"  FAILURE on {surface.name}: {summary}", file=sys.stderr, flush=True)
    return {"inputs": tried, "failures": [{"summary": k, "detail": v} for k, v in failures.items()]}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fuzzer; exit 1 when any surface failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, required=True, help="total running time, shared by the surfaces")
    parser.add_argument("--surface", action="append", help="only these surfaces (repeatable; default: all)")
    parser.add_argument("--hang-s", type=float, default=60.0, help="one input's time bound (default 60 s)")
    parser.add_argument("--ledger", type=Path, default=LEDGER, help="where to write the figures")
    parser.add_argument("--no-ledger", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    if not (args.minutes > 0 and args.hang_s > 0):
        parser.error("--minutes and --hang-s must be positive")
    sys.path.insert(0, str(ROOT))
    from tests.reliability import _fuzz

    chosen = [s for s in _fuzz.surfaces() if not args.surface or s.name in args.surface]
    if not chosen:
        parser.error(f"no such surface; choose from {[s.name for s in _fuzz.surfaces()]}")
    share = args.minutes * 60 / len(chosen)
    started = time.time()
    results: dict[str, Any] = {}
    for surface in chosen:
        print(f"{surface.name}: {share:.0f} s", file=sys.stderr, flush=True)
        results[surface.name] = fuzz_surface(surface, share, args.hang_s)
        print(f"  {results[surface.name]['inputs']} inputs, {len(results[surface.name]['failures'])} failures",
              file=sys.stderr, flush=True)
    ledger = {
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "minutes": round((time.time() - started) / 60, 1),
        "surfaces": results,
        "fixed": [{"surface": s, "defect": d, "test": t} for s, d, t in _fuzz.FIXED],
    }
    total = sum(r["inputs"] for r in results.values())
    found = sum(len(r["failures"]) for r in results.values())
    print(f"{total} inputs over {len(results)} surfaces in {ledger['minutes']} min; {found} failures found; "
          f"{len(_fuzz.FIXED)} defects fixed, each with a regression test")
    if not args.no_ledger:
        args.ledger.write_text(json.dumps(ledger, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.ledger.relative_to(ROOT) if args.ledger.is_relative_to(ROOT) else args.ledger}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
