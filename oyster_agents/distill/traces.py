"""Read run traces from files: JSON Lines (one RunTrace per line), a single JSON trace or a JSON list.

Bad input never stops a read: each malformed line, batch error row or schema violation is reported
with its file and line number and skipped, so one broken record cannot sink an export.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from oyster_agents._records import describe_errors, document_records
from oyster_agents.schemas.trace import RunTrace


class TraceProblem(BaseModel):
    """A record that was skipped, and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


class LoadedTrace(BaseModel):
    """A validated trace and where it came from (its lineage)."""

    trace: RunTrace
    source: str
    line: int

    @property
    def location(self) -> str:
        """``file:line`` of the record."""
        return f"{self.source}:{self.line}"


def read_traces(paths: Iterable[str | Path]) -> tuple[list[LoadedTrace], list[TraceProblem]]:
    """Read and validate every trace in ``paths`` (``-`` reads standard input; ``.gz`` is decompressed).

    Args:
        paths: trace files: JSON Lines, one JSON trace (as ``oyster run --json`` prints) or a JSON list.

    Returns:
        ``(traces, problems)``: the valid traces in file order, and one problem per skipped record.
    """
    traces: list[LoadedTrace] = []
    problems: list[TraceProblem] = []
    for path in _expand(paths):
        source = str(path)
        try:
            data = _read_bytes(path)
        except (OSError, EOFError, gzip.BadGzipFile, ValueError) as exc:
            # ValueError: standard input closed, or a damaged gzip stream.
            problems.append(TraceProblem(source=source, line=0, reason=f"cannot read file: {exc}"))
            continue
        for record in document_records(data):
            if record.error is not None:
                problems.append(TraceProblem(source=source, line=record.line, reason=record.error))
                continue
            loaded = _validate(record.value, source, record.line, problems)
            if loaded is not None:
                traces.append(loaded)
    return traces, problems


def _expand(paths: Iterable[str | Path]) -> Iterator[str | Path]:
    """Paths as given; a folder stands for its trace files (``*.jsonl``, ``*.json``, ``*.gz``), sorted."""
    for path in paths:
        if str(path) != "-" and Path(path).is_dir():
            yield from sorted(p for p in Path(path).iterdir() if p.name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz")))
        else:
            yield path


def _read_bytes(path: str | Path) -> bytes:
    if str(path) == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise ValueError("standard input is closed")
        return stream.read()
    if str(path).endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return Path(path).read_bytes()


def _validate(record: Any, source: str, line: int, problems: list[TraceProblem]) -> LoadedTrace | None:
    if not isinstance(record, dict):
        problems.append(TraceProblem(source=source, line=line, reason=f"expected a JSON object, got {type(record).__name__}"))
        return None
    if record.get("status") == "error" or ("error" in record and "iterates" not in record):
        error = record.get("error")
        if isinstance(error, dict):
            error = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        label = f" {record['id']}" if record.get("id") else ""
        problems.append(
            TraceProblem(source=source, line=line, reason=f"error record of failed query{label}: {str(error)[:200]}")
        )
        return None
    try:
        trace = RunTrace.model_validate(record)
    except ValidationError as exc:
        first = describe_errors(exc, limit=1, root="record")
        problems.append(TraceProblem(source=source, line=line, reason=f"not a run trace: {first} ({exc.error_count()} errors)"))
        return None
    if not trace.iterates:
        problems.append(TraceProblem(source=source, line=line, reason="trace has no iterates"))
        return None
    if not 0 <= trace.best_iterate < len(trace.iterates):
        problems.append(
            TraceProblem(source=source, line=line, reason=f"best_iterate {trace.best_iterate} out of range")
        )
        return None
    return LoadedTrace(trace=trace, source=source, line=line)
