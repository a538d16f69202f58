"""The reliability ledger: each test records what it tried and what it measured.

Tests take the ``ledger`` fixture and call ``ledger.record(section, case, **figures)``. At the end
of the session, when ``OYSTER_RELIABILITY_JSON`` names a file, the records and every test's
outcome are written there; ``scripts/reliability_report.py`` renders them as RELIABILITY.md.

Sections and their figures (all counts):
- ``faults``: started, completed (a trace or an error record), ok, errors, lost, duplicated;
- ``resume``: calls_first, calls_resumed, calls_clean, failed_calls, repeated;
- ``bad_input``: outcome (``ran``, ``rejected``), structure_changed, executed;
- ``secrets``: surfaces (list), leaks;
- ``malformed``: file_named, line_named, field_named (booleans);
- ``fuzz``: inputs (hostile inputs tried on one surface), failures.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pytest

RESULTS_ENV = "OYSTER_RELIABILITY_JSON"
SECTIONS = ("faults", "resume", "bad_input", "secrets", "malformed", "fuzz")

_records: list[dict[str, Any]] = []
_outcomes: dict[str, dict[str, Any]] = {}
_started = time.time()


class Ledger:
    """Records figures for one test (its node id is attached to each record)."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def record(self, section: str, case: str, **figures: Any) -> None:
        """Add one measured case to ``section``."""
        if section not in SECTIONS:
            raise ValueError(f"unknown section {section!r}; use one of {SECTIONS}")
        _records.append({"section": section, "case": case, "test": self.nodeid, **figures})


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Ledger:
    """The reliability ledger, bound to the current test."""
    return Ledger(request.node.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep each test's outcome: a failed setup, call or teardown fails the test."""
    if "tests/reliability/" not in report.nodeid.replace("\\", "/"):
        return
    entry = _outcomes.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
    entry["seconds"] += report.duration
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the ledger where ``OYSTER_RELIABILITY_JSON`` says (nothing without it)."""
    target = os.environ.get(RESULTS_ENV)
    if not target:
        return
    data = {
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "seconds": round(time.time() - _started, 1),
        "tests": _outcomes,
        "records": _records,
    }
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
