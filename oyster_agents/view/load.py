"""Read what ``oyster view`` shows: a trace file, a batch output, or an evaluation folder.

Accepted inputs (several may be given):
- a JSON file holding one trace (``oyster run --json``), one eval row, or a list of either;
- a JSON Lines file of traces and error records (``oyster batch``) or of eval rows (``items.jsonl``);
- a folder: its ``items.jsonl`` (an ``oyster eval`` output folder), else every ``*.jsonl`` and ``*.json`` in it.
A line that is not a trace, an error record or an eval row becomes an error entry: nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oyster_agents._records import describe_errors, document_records
from oyster_agents.errors import InputError
from oyster_agents.schemas.evaluation import ItemRecord
from oyster_agents.schemas import SUPPORTED_SCHEMA_VERSIONS, RunTrace

EVAL_ITEMS = "items.jsonl"


@dataclass
class Entry:
    """One query to show: its trace, or the eval row around it, or why it has none."""

    label: str
    query: str
    source: str
    trace: RunTrace | None = None
    record: ItemRecord | None = None
    error: str | None = None
    key: str = ""

    @property
    def title(self) -> str:
        """The label with the eval target and suite when there are any."""
        if self.record is not None:
            return f"{self.record.target} · {self.record.suite.value} · {self.label}"
        return self.label


def load_entries(paths: Sequence[str | Path]) -> list[Entry]:
    """Every entry of every input, in order, each with a unique page ``key``.

    Raises:
        InputError: a path does not exist, or holds nothing readable as JSON.
    """
    entries: list[Entry] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = [path / EVAL_ITEMS] if (path / EVAL_ITEMS).is_file() else sorted(
                p for p in path.iterdir() if p.suffix in (".jsonl", ".json") and p.is_file())
            if not files:
                raise InputError(f"{path}: no {EVAL_ITEMS}, *.jsonl or *.json file in this folder")
            for file in files:
                entries.extend(_read_file(file))
        elif path.is_file():
            entries.extend(_read_file(path))
        else:
            raise InputError(f"{path}: no such file or folder")
    for number, entry in enumerate(entries):
        entry.key = f"{number:05d}"
    return entries


def entries_from_records(records: Iterable[ItemRecord], source: str = EVAL_ITEMS) -> list[Entry]:
    """Entries for eval rows already in memory (the evaluation report's item pages)."""
    entries = [_from_record(record, f"{source}:{n}") for n, record in enumerate(records, start=1)]
    for number, entry in enumerate(entries):
        entry.key = f"{number:05d}"
    return entries


def _read_file(path: Path) -> list[Entry]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from exc
    out = []
    for record in document_records(data):
        if record.whole:
            where = path.name if record.index is None else f"{path.name}[{record.index}]"
        else:
            where = f"{path.name}:{record.line}"
        if record.error is None:
            out.append(_entry(record.value, where))
        elif record.terminated:  # not a torn last line of a killed run
            out.append(Entry(label=where, query="", source=where, error=record.error))
    if not out and data.strip():
        raise InputError(f"{path}: neither JSON nor JSON Lines")
    return out


def _entry(obj: Any, where: str) -> Entry:
    if not isinstance(obj, dict):
        return Entry(label=where, query="", source=where, error="not a JSON object")
    if {"target", "suite", "item"} <= set(obj):
        try:
            return _from_record(ItemRecord.model_validate(obj), where)
        except ValidationError as exc:
            return Entry(label=where, query="", source=where, error=f"not an eval row: {describe_errors(exc, limit=1, root='')}")
    if obj.get("status") == "error":
        err = obj.get("error") if isinstance(obj.get("error"), dict) else {}
        message = f"{err.get('type', 'error')}: {err.get('message', '')}".strip()
        return Entry(label=str(obj.get("id") or where), query=str(obj.get("query", "")), source=where, error=message)
    return _from_trace(obj, where)


def _from_trace(obj: dict[str, Any], where: str, label: str | None = None) -> Entry:
    version = str(obj.get("schema_version", "1.0"))
    query = str(obj.get("query", ""))
    name = label or str(obj.get("id") or where)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        return Entry(label=name, query=query, source=where,
                     error=f"trace schema {version} is not one this version reads ({', '.join(SUPPORTED_SCHEMA_VERSIONS)})")
    try:
        trace = RunTrace.model_validate(obj)
    except ValidationError as exc:
        return Entry(label=name, query=query, source=where, error=f"not a trace: {describe_errors(exc, limit=1, root='')}")
    return Entry(label=name, query=trace.query, source=where, trace=trace)


def _from_record(record: ItemRecord, where: str) -> Entry:
    entry = Entry(label=record.item.id, query=record.item.query, source=where, record=record, error=record.error)
    if record.trace is not None:
        inner = _from_trace(record.trace, where, label=record.item.id)
        entry.trace = inner.trace
        if inner.error and not entry.error:
            entry.error = inner.error
    return entry
