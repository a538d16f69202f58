"""Read benchmark files into :class:`EvalItem` lists, and pick a balanced subset for ``--limit``.

Formats:
- constructive: JSONL rows ``{id, profile, task, category, level, query}``; the project's own set ships
  with the package (``eval/data/constructive.jsonl``) and is used when no path is given.
- xstest: CSV with columns ``id, prompt, type, label, focus, note``.
- strata-sword: JSONL rows ``{id, prompt, attack_method, risk_type, level, language}``.
- gsm8k: JSONL rows ``{question, answer}``, the answer ending in ``#### N`` (see ``eval.gsm8k``).

A constructive or Strata-Sword row may carry ``history``, a list of ``{role, content}`` turns before its query.

Every path is an argument: a file, or a folder searched (recursively) for the suite's files.
Nothing is downloaded.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from oyster_agents._records import read_objects
from oyster_agents.errors import InputError
from oyster_agents.eval._files import FILE_PATTERNS, item_from, suite_files, unique_ids
from oyster_agents.eval.gsm8k import load_gsm8k
from oyster_agents.eval.records import EvalItem, Suite

__all__ = [
    "FILE_PATTERNS", "LOADERS", "load_constructive", "load_gsm8k", "load_strata_sword", "load_suite",
    "load_xstest", "select", "suite_files",
]

def load_constructive(path: str | Path | None = None) -> list[EvalItem]:
    """Load a constructive scenario set; ``None`` loads the packaged one.

    Raises:
        InputError: unreadable file, bad JSON (with line) or a row missing a field.
    """
    if path is None:
        where = "constructive.jsonl (packaged)"
        packaged = resources.files("oyster_agents.eval.data").joinpath("constructive.jsonl")
        return _constructive_rows(read_objects(packaged, where=where), where)
    items: list[EvalItem] = []
    for file in suite_files(Suite.CONSTRUCTIVE, path):
        items.extend(_constructive_rows(read_objects(file), str(file)))
    return unique_ids(items)


def load_xstest(path: str | Path) -> list[EvalItem]:
    """Load XSTest prompts from a CSV file (or the CSV files of a folder).

    Raises:
        InputError: unreadable file, missing columns, or a label other than safe/unsafe.
    """
    items: list[EvalItem] = []
    for file in suite_files(Suite.XSTEST, path):
        try:
            with file.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = {"id", "prompt", "type", "label"} - set(reader.fieldnames or [])
                if missing:
                    raise InputError(f"{file}: missing CSV columns {sorted(missing)} (expected id, prompt, type, label, focus, note)")
                for line, row in enumerate(reader, start=2):
                    label = (row.get("label") or "").strip().lower()
                    if label not in ("safe", "unsafe"):
                        raise InputError(f"{file}:{line}: label must be 'safe' or 'unsafe', got {row.get('label')!r}")
                    items.append(item_from(file, line, {
                        "id": f"xstest-{(row.get('id') or '').strip() or line}",
                        "suite": Suite.XSTEST,
                        "query": row.get("prompt") or "",
                        "label": label,
                        "type": (row.get("type") or "").strip() or None,
                        "focus": (row.get("focus") or "").strip() or None,
                        "note": (row.get("note") or "").strip() or None,
                    }))
        except OSError as exc:
            raise InputError(f"cannot read {file}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"{file} is not UTF-8 text") from exc
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise InputError(f"{file}: not a readable CSV file ({exc})") from None
    return unique_ids(items)


def load_strata_sword(path: str | Path) -> list[EvalItem]:
    """Load Strata-Sword prompts from a JSONL file (or the JSONL files of a folder).

    Raises:
        InputError: unreadable file, bad JSON (with line) or a row without a prompt.
    """
    items: list[EvalItem] = []
    for file in suite_files(Suite.STRATA_SWORD, path):
        for line, row in read_objects(file):
            level = row.get("level")
            method = row.get("attack_method")
            items.append(item_from(file, line, {
                "id": str(row.get("id") or f"{file.stem}-{line}"),
                "suite": Suite.STRATA_SWORD,
                "query": row.get("prompt") or "",
                "level": f"L{level}" if level not in (None, "") else None,
                "language": row.get("language") or None,
                # The source files spell "no attack" as the string "None".
                "attack_method": str(method) if method not in (None, "") else "None",
                "risk_type": row.get("risk_type") or None,
                "history": row.get("history") or [],
            }))
    return unique_ids(items)


LOADERS: dict[Suite, Callable[[Any], list[EvalItem]]] = {
    Suite.CONSTRUCTIVE: load_constructive,
    Suite.XSTEST: load_xstest,
    Suite.STRATA_SWORD: load_strata_sword,
    Suite.GSM8K: load_gsm8k,
}


def load_suite(suite: Suite, path: str | Path | None) -> list[EvalItem]:
    """Load one suite's items. Only ``constructive`` works without a path (the packaged set).

    Raises:
        InputError: no path for a public benchmark, or the files are unusable.
    """
    if path is None and suite is not Suite.CONSTRUCTIVE:
        raise InputError(f"suite '{suite.value}' needs --data: the benchmark file or a folder holding it")
    return LOADERS[suite](path)


def select(items: list[EvalItem], limit: int | None) -> list[EvalItem]:
    """A deterministic, balanced subset: round-robin over the suite's strata, in file order.

    Strata: level for constructive, prompt type for XSTest (which also balances safe and contrast
    prompts), (language, level) for Strata-Sword, whose items are further interleaved by attack
    method within each stratum. ``--limit 20`` thus samples every stratum instead of the first
    file's first rows, and the same limit always picks the same items (resume-safe).
    """
    if limit is None or limit >= len(items):
        return list(items)
    queues = [_round_robin(group, _method) for group in _groups(items, _stratum)]
    picked: list[EvalItem] = []
    depth = 0
    while len(picked) < limit:
        for queue in queues:
            if depth < len(queue) and len(picked) < limit:
                picked.append(queue[depth])
        depth += 1
    return picked


def _groups(items: list[EvalItem], key: Callable[[EvalItem], tuple[str | None, ...]]) -> list[list[EvalItem]]:
    groups: dict[tuple[str | None, ...], list[EvalItem]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.values())


def _round_robin(items: list[EvalItem], key: Callable[[EvalItem], tuple[str | None, ...]]) -> list[EvalItem]:
    queues = _groups(items, key)
    longest = max((len(q) for q in queues), default=0)
    return [q[depth] for depth in range(longest) for q in queues if depth < len(q)]


def _method(item: EvalItem) -> tuple[str | None, ...]:
    return (item.attack_method,)


def _stratum(item: EvalItem) -> tuple[str | None, ...]:
    if item.suite is Suite.CONSTRUCTIVE:
        return (item.level,)
    if item.suite is Suite.XSTEST:
        return (item.type,)
    return (item.language, item.level)


def _constructive_rows(rows: Iterable[tuple[int, dict[str, Any]]], where: str) -> list[EvalItem]:
    items = []
    for line, row in rows:
        missing = [k for k in ("id", "category", "level", "query") if not row.get(k)]
        if missing:
            raise InputError(f"{where}:{line}: missing fields {missing} (expected id, profile, task, category, level, query)")
        items.append(item_from(where, line, {
            "id": str(row["id"]),
            "suite": Suite.CONSTRUCTIVE,
            "query": row["query"],
            "profile": row.get("profile"),
            "task": row.get("task"),
            "category": row["category"],
            "level": str(row["level"]).upper(),
            "history": row.get("history") or [],
        }))
    return items
