"""scripts/reliability_report.py: its exit status follows the tests and the targets, and ``--check``
finds a stale RELIABILITY.md while ignoring the run's date, platform and duration."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("reliability_report", ROOT / "scripts" / "reliability_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ledger(path: Path, *, outcome: str = "passed", leaks: int = 0, when: str = "2026-01-01 00:00:00 UTC") -> Path:
    test = "tests/reliability/test_secrets.py::test_no_leak"
    data = {
        "generated_at": when, "python": "3.11.7", "platform": "Linux x86_64, 2 CPUs", "seconds": 12.5,
        "tests": {test: {"outcome": outcome, "seconds": 1.0}},
        "records": [
            {"section": "faults", "case": "timeout", "test": test, "backend": "openai", "started": 3, "completed": 3,
             "ok": 2, "errors": 1, "lost": 0, "duplicated": 0},
            {"section": "resume", "case": "kill", "test": test, "calls_first": 4, "calls_resumed": 3,
             "calls_clean": 7, "failed_calls": 0, "repeated": 0},
            {"section": "bad_input", "case": "nul bytes", "test": test, "outcome": "rejected",
             "structure_changed": False, "executed": False},
            {"section": "secrets", "case": "trace", "test": test, "chars_searched": 100, "leaks": leaks},
            {"section": "malformed", "case": "config: bad yaml", "test": test, "file_named": True,
             "line_named": True, "field_named": True, "message": "c.yaml:3: invalid YAML"},
            {"section": "fuzz", "case": "config file", "test": test, "inputs": 20, "failures": 0},
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _run(report, tmp_path: Path, ledger: Path, *extra: str) -> int:
    missing_fuzz = tmp_path / "no-fuzz.json"
    return report.main(["--results", str(ledger), "--no-run", "--out", str(tmp_path / "R.md"),
                        "--fuzz-ledger", str(missing_fuzz), *extra])


def test_writing_exits_0_when_all_pass_and_1_when_a_test_failed(report, tmp_path):
    assert _run(report, tmp_path, _ledger(tmp_path / "ok.json")) == 0
    assert "| Secrets leaked | 0 (over 1 surfaces) | 0 | ✅ |" in (tmp_path / "R.md").read_text(encoding="utf-8")
    assert _run(report, tmp_path, _ledger(tmp_path / "bad.json", outcome="failed")) == 1
    text = (tmp_path / "R.md").read_text(encoding="utf-8")
    assert "## Failed tests" in text and "`tests/reliability/test_secrets.py::test_no_leak`" in text


def test_a_missed_target_exits_1_even_when_the_tests_passed(report, tmp_path):
    assert _run(report, tmp_path, _ledger(tmp_path / "leak.json", leaks=2)) == 1


def test_check_ignores_the_run_line_and_writes_nothing(report, tmp_path):
    _run(report, tmp_path, _ledger(tmp_path / "first.json"))
    written = (tmp_path / "R.md").read_text(encoding="utf-8")
    later = _ledger(tmp_path / "later.json", when="2027-06-01 12:00:00 UTC")
    assert _run(report, tmp_path, later, "--check") == 0
    assert (tmp_path / "R.md").read_text(encoding="utf-8") == written  # --check writes nothing


def test_check_fails_on_a_stale_report_and_shows_the_difference(report, tmp_path, capsys):
    _run(report, tmp_path, _ledger(tmp_path / "first.json"))
    out = tmp_path / "R.md"
    out.write_text(out.read_text(encoding="utf-8").replace("| timeout | openai | 3 | 3 | 2 | 1 |",
                                                           "| timeout | openai | 3 | 3 | 3 | 0 |"), encoding="utf-8")
    capsys.readouterr()
    assert _run(report, tmp_path, _ledger(tmp_path / "again.json"), "--check") == 1
    err = capsys.readouterr().err
    assert "R.md is stale" in err
    assert "-| timeout | openai | 3 | 3 | 3 | 0 |" in err and "+| timeout | openai | 3 | 3 | 2 | 1 |" in err


def test_check_fails_without_a_committed_report(report, tmp_path):
    assert _run(report, tmp_path, _ledger(tmp_path / "ok.json"), "--check") == 1


def test_a_missing_ledger_exits_2(report, tmp_path):
    assert report.main(["--results", str(tmp_path / "none.json"), "--no-run", "--out", str(tmp_path / "R.md")]) == 2


def test_check_ignores_what_varies_between_runs_of_the_same_code(report):
    committed = "\n".join([
        "Run: 2026-01-01 00:00:00 UTC, Python 3.11.7, 2 CPUs, 54.3 s.",
        "## Resume inside a query", "| a | b | c | d | e | f | g |",
        "| kill, async | 23 | 18 | 30 | 1 | 11 | no |", "| kill, sync | 23 | 7 | 30 | 1 | 0 | yes |",
        "## Secrets", "| trace | 7586 | 0 |",
    ])
    noise = (committed.replace("54.3 s", "120.9 s").replace("| 18 | 30 | 1 | 11 | no |", "| 20 | 30 | 1 | 13 | no |")
             .replace("| 7586 | 0 |", "| 7583 | 0 |"))
    assert report.stale_lines(committed, noise) == []
    for moved in ("| 23 | 8 | 30 | 1 | 0 | yes |", "| trace | 7586 | 1 |"):
        target = "| 23 | 7 | 30 | 1 | 0 | yes |" if "yes" in moved else "| trace | 7586 | 0 |"
        assert report.stale_lines(committed, committed.replace(target, moved)) != []
