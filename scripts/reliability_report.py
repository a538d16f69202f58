"""Render RELIABILITY.md from a run of the reliability tests (``tests/reliability``).

The tests record what they tried and measured in a ledger (``tests/reliability/conftest.py``);
this script runs them with ``OYSTER_RELIABILITY_JSON`` set, reads that JSON and writes the tables:
fault classes and bad-input classes tried, runs completed of runs started, records lost and
duplicated, LLM calls repeated after resume, secrets leaked, malformed files that name file, line
and field, each against its target. The fuzzing figures come from the short run in the tests and
from the ledger of the long run (``scripts/fuzz.py --minutes N`` writes ``tests/reliability/fuzz_ledger.json``).

Usage::

    python scripts/reliability_report.py                      # run the tests, write RELIABILITY.md
    python scripts/reliability_report.py --results r.json --no-run   # render a saved ledger
    python scripts/reliability_report.py --results r.json --no-run --check   # compare, write nothing

Exit status: 0 when every test passed and every target is met; 1 when a test failed or a target is
missed, or (with ``--check``) when RELIABILITY.md differs from what the ledger renders, what varies
between runs of the same code aside (``comparable``); 2 when there is no ledger. CI runs the whole suite once with
``OYSTER_RELIABILITY_JSON`` set, then ``--no-run --check`` on the ledger it wrote.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_ENV = "OYSTER_RELIABILITY_JSON"
FUZZ_LEDGER = ROOT / "tests" / "reliability" / "fuzz_ledger.json"
OK, MISSED = "✅", "❌"


def run_tests(results: Path, pytest_args: Sequence[str]) -> int:
    """Run ``tests/reliability`` with the ledger written to ``results``; return pytest's exit code."""
    env = {**os.environ, RESULTS_ENV: str(results)}
    command = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider", *pytest_args]
    print("running:", " ".join(command), file=sys.stderr)
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def _rows(data: dict[str, Any], section: str) -> list[dict[str, Any]]:
    return [r for r in data["records"] if r["section"] == section]


def _mark(ok: bool) -> str:
    return OK if ok else MISSED


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _test_outcome(data: dict[str, Any], test: str) -> str:
    """passed / failed / not run for a test id (all its parametrized cases together)."""
    found = [t["outcome"] for name, t in data["tests"].items() if name == test or name.startswith(test + "[")]
    if not found:
        return "not run"
    return "failed" if "failed" in found else ("passed" if "passed" in found else found[0])


def fixed_defects() -> list[dict[str, str]]:
    """The defects the fuzzing found and fixed, each with its regression test (``_fuzz.FIXED``)."""
    sys.path.insert(0, str(ROOT))
    from tests.reliability._fuzz import FIXED

    return [{"surface": s, "defect": d, "test": t} for s, d, t in FIXED]


def fuzz_rows(data: dict[str, Any], ledger: dict[str, Any] | None) -> list[tuple[str, str, str, bool]]:
    """Summary rows for fuzzing: inputs tried, failures open, defects fixed with a passing test."""
    short = _rows(data, "fuzz")
    rows = [("Hostile inputs tried by the fuzzer in the tests (short run)",
             f"{sum(r['inputs'] for r in short)} over {len(short)} surfaces", "—", bool(short))]
    if ledger is not None:
        surfaces = ledger["surfaces"]
        found = sum(len(s["failures"]) for s in surfaces.values())
        defects = fixed_defects()
        fixed = [f for f in defects if _test_outcome(data, f["test"]) == "passed"]
        rows += [
            ("Hostile inputs tried by the long fuzzing run",
             f"{sum(s['inputs'] for s in surfaces.values())} over {len(surfaces)} surfaces in {ledger['minutes']} min",
             "—", bool(surfaces)),
            ("Fuzzing failures open (long run)", str(found), "0", found == 0),
            ("Defects found and fixed, each with a passing regression test", f"{len(fixed)} / {len(defects)}",
             "all", len(fixed) == len(defects)),
        ]
    return rows


def summary(data: dict[str, Any], ledger: dict[str, Any] | None = None) -> tuple[list[tuple[str, str, str, bool]], bool]:
    """(figure, measured, target, met) rows, and whether every target is met."""
    faults, resume = _rows(data, "faults"), _rows(data, "resume")
    bad, secrets, malformed = _rows(data, "bad_input"), _rows(data, "secrets"), _rows(data, "malformed")
    tests = data["tests"]
    passed = sum(1 for t in tests.values() if t["outcome"] == "passed")
    failed = sum(1 for t in tests.values() if t["outcome"] == "failed")
    started = sum(r["started"] for r in faults)
    completed = sum(r["completed"] for r in faults)
    errors = sum(r["errors"] for r in faults)
    lost = sum(r["lost"] for r in faults)
    duplicated = sum(r["duplicated"] for r in faults)
    strict = [r for r in resume if not r.get("informational")]
    repeated = sum(r["repeated"] for r in strict)
    leaks = sum(r["leaks"] for r in secrets)
    changed = sum(1 for r in bad if r["structure_changed"] or r["executed"])
    named = sum(1 for r in malformed if r["file_named"] and r["line_named"] and r["field_named"] is not False)
    rows = [
        ("Fault classes tried", str(len(faults)), "—", bool(faults)),
        ("Bad-input classes tried", str(len(bad)), "—", bool(bad)),
        ("Runs completed / runs started (a trace or an error record)", f"{completed} / {started} "
         f"({errors} error records)", "all", completed == started and started > 0),
        ("Records lost", str(lost), "0", lost == 0),
        ("Records duplicated", str(duplicated), "0", duplicated == 0),
        ("LLM calls repeated after resume", f"{repeated} (over {len(strict)} interruptions)", "0",
         repeated == 0 and bool(strict)),
        ("Secrets leaked", f"{leaks} (over {len(secrets)} surfaces)", "0", leaks == 0 and bool(secrets)),
        ("Hostile inputs that changed structure or executed", f"{changed} of {len(bad)}", "0", changed == 0),
        ("Malformed files whose error names file, line and field", f"{named} / {len(malformed)}", "all",
         named == len(malformed) and bool(malformed)),
        *fuzz_rows(data, ledger),
        ("Reliability tests passed", f"{passed} / {len(tests)}", "all", failed == 0 and passed > 0),
    ]
    return rows, all(row[3] for row in rows)


def render(data: dict[str, Any], ledger: dict[str, Any] | None = None) -> str:
    """The Markdown of RELIABILITY.md."""
    rows, _ = summary(data, ledger)
    out = [
        "# Reliability",
        "",
        "Generated by `python scripts/reliability_report.py` from a run of the tests in `tests/reliability`; "
        "do not edit by hand. What each test does and why is in [docs/reliability.md](docs/reliability.md).",
        "",
        f"Run: {data['generated_at']}, Python {data['python']}, {data['platform']}, {data['seconds']} s.",
        "",
        "## Summary",
        "",
        *_table(["Figure", "Measured", "Target", ""], [(f, m, t, _mark(ok)) for f, m, t, ok in rows]),
        "",
        "## Backend faults",
        "",
        "A batch per fault class through `run_batch`: the `openai` backend over HTTP to a local "
        "OpenAI-compatible server that injects the fault (or scripted models, where noted). Counted from "
        "the output file.",
        "",
        *_table(["Fault", "Backend", "Started", "Completed", "Traces", "Error records", "Lost", "Duplicated"],
                [(r["case"], r.get("backend"), r["started"], r["completed"], r["ok"], r["errors"], r["lost"],
                  r["duplicated"]) for r in _rows(data, "faults")]),
        "",
        "## Resume inside a query",
        "",
        "LLM calls counted per role across the interrupted run and its resumption (`graph.invoke(None, config)` "
        "on a SQLite checkpointer), against an uninterrupted run. The call that failed or was killed never "
        "finished, so running it again is not a repeat.",
        "",
        *_table(["Interruption", "Calls before", "Calls after resume", "Uninterrupted run", "Failed calls",
                 "Repeated", "Counts toward the target"],
                [(r["case"], r["calls_first"], r["calls_resumed"], r["calls_clean"], r["failed_calls"],
                  r["repeated"], not r.get("informational")) for r in _rows(data, "resume")]),
        "",
        "The default `durability=\"async\"` writes checkpoints in the background, so a killed process can lose "
        "the last ones and their calls run again (measured above, not a target); pass `durability=\"sync\"` "
        "when a process may be killed.",
        "",
        "## Hostile input",
        "",
        *_table(["Input", "Outcome", "Structure changed", "Executed"],
                [(r["case"], r["outcome"], r["structure_changed"], r["executed"]) for r in _rows(data, "bad_input")]),
        "",
        "## Secrets",
        "",
        "A marker API key planted through `OYSTER_ROLES__DEFAULT__API_KEY`, then searched for in everything written.",
        "",
        *_table(["Surface", "Characters searched", "Leaks"],
                [(r["case"], r["chars_searched"], r["leaks"]) for r in _rows(data, "secrets")]),
        "",
        "## Malformed files",
        "",
        *_table(["File and fault", "File named", "Line named", "Field named", "Error (last line)"],
                [(r["case"], r["file_named"], r["line_named"], r["field_named"], r.get("message", ""))
                 for r in _rows(data, "malformed")]),
        "",
    ]
    out += _fuzz_section(data, ledger)
    failed = [name for name, t in data["tests"].items() if t["outcome"] == "failed"]
    if failed:
        out += ["## Failed tests", "", *[f"- `{name}`" for name in failed], ""]
    return _strip_paths("\n".join(out))


def _fuzz_section(data: dict[str, Any], ledger: dict[str, Any] | None) -> list[str]:
    short = {r["case"]: r for r in _rows(data, "fuzz")}
    long_run = (ledger or {}).get("surfaces", {})
    names = list(dict.fromkeys([*short, *long_run]))
    out = [
        "## Fuzzing",
        "",
        "Hypothesis generates hostile structure for each input surface (`tests/reliability/_fuzz.py`) and checks "
        "that the documented outcome follows: success or the documented error, never a traceback, no planted "
        "secret in any output, no input raising peak memory by more than 256 MiB, no earlier output lost.",
    ]
    if ledger is not None:
        out += ["", f"Long run: `python scripts/fuzz.py --minutes {ledger['minutes']}` on {ledger['generated_at']}, "
                f"Python {ledger['python']}, {ledger['platform']}."]
    out += ["", *_table(["Surface", "Inputs (tests)", "Inputs (long run)", "Failures open (long run)"],
                        [(name, short.get(name, {}).get("inputs"), long_run.get(name, {}).get("inputs"),
                          len(long_run[name]["failures"]) if name in long_run else None) for name in names])]
    failures = [(name, f["summary"]) for name, s in long_run.items() for f in s["failures"]]
    if failures:
        out += ["", "Open failures:", "", *_table(["Surface", "Failure"], failures)]
    out += ["", "### Defects found and fixed", "",
            *_table(["Surface", "Defect", "Regression test", "Outcome"],
                    [(f["surface"], f["defect"], "`" + f["test"].split("::")[-1] + "`", _test_outcome(data, f["test"]))
                     for f in fixed_defects()])]
    return [*out, ""]


def _strip_paths(text: str) -> str:
    """Temporary folders in recorded messages become ``<tmp>``: the report must not name this machine."""
    import re

    return re.sub(r"(/[\w.+-]+)*/(pytest-of-[\w-]+|tmp[\w-]*)(/[\w.+-]+)*/", "<tmp>/", text)


RUN_LINE = "Run: "
VARIES = "…"


def comparable(text: str) -> list[str]:
    """The report's lines without what differs between two runs of the same code: the run line (when,
    where, how long), the characters the secret search read (outputs hold timestamps and durations),
    and the calls of the resume rows that are measured but not a target (after a kill under async
    durability they depend on when the background checkpoint write lands)."""
    lines, section = [], ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line
        if line.startswith(RUN_LINE):
            continue
        cells = line.split(" | ")
        if section == "## Secrets" and len(cells) == 3 and cells[1].isdigit():
            cells[1] = VARIES
        elif section == "## Resume inside a query" and line.endswith(" | no |"):
            cells = [cells[0], VARIES, cells[-1]]
        lines.append(" | ".join(cells))
    return lines


def stale_lines(committed: str, rendered: str) -> list[str]:
    """A unified diff of the committed report against the rendered one, what varies between runs
    aside (:func:`comparable`); empty when the committed report is current."""
    return list(difflib.unified_diff(comparable(committed), comparable(rendered), "committed", "rendered",
                                     lineterm="", n=1))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tests (unless ``--no-run``), render the report (or compare it, with ``--check``), and
    return 0 only when every test passed and every target is met (and, with ``--check``, the committed
    report is current)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, help="ledger JSON to write (or, with --no-run, to read)")
    parser.add_argument("--no-run", action="store_true", help="render an existing --results file")
    parser.add_argument("--out", type=Path, default=ROOT / "RELIABILITY.md", help="default: RELIABILITY.md")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when --out differs from the rendered report (run-to-run noise aside)")
    parser.add_argument("--fuzz-ledger", type=Path, default=FUZZ_LEDGER, help="ledger of the long fuzzing run")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    if args.no_run and not args.results:
        parser.error("--no-run needs --results FILE")
    results = args.results or Path(tempfile.mkdtemp()) / "reliability.json"
    exit_code = 0 if args.no_run else run_tests(results, args.pytest_args)
    if not results.is_file():
        print(f"no ledger at {results}: did the tests run?", file=sys.stderr)
        return 2
    data = json.loads(results.read_text(encoding="utf-8"))
    ledger = json.loads(args.fuzz_ledger.read_text(encoding="utf-8")) if args.fuzz_ledger.is_file() else None
    report = render(data, ledger)
    rows, met = summary(data, ledger)
    for figure, measured, target, ok in rows:
        print(f"{_mark(ok)} {figure}: {measured} (target {target})")
    failed = exit_code != 0 or not met
    if failed:
        print("reliability: a test failed or a target is missed", file=sys.stderr)
    if not args.check:
        args.out.write_text(report, encoding="utf-8")
        print(f"wrote {args.out}")
        return 1 if failed else 0
    committed = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
    diff = stale_lines(committed, report)
    if diff:
        print(f"{args.out} is stale: regenerate it with `python scripts/reliability_report.py` and commit it",
              file=sys.stderr)
        print("\n".join(diff[:200]), file=sys.stderr)
    return 1 if failed or diff else 0


if __name__ == "__main__":
    sys.exit(main())
