"""Where a suite's files are, and the checks every loader applies to its rows (valid item, unique ids)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oyster_agents._records import describe_errors
from oyster_agents.errors import InputError
from oyster_agents.eval.records import EvalItem, Suite

# File names a folder is searched for, per suite (first pattern that matches wins).
FILE_PATTERNS: dict[Suite, tuple[str, ...]] = {
    Suite.CONSTRUCTIVE: ("constructive*.jsonl",),
    Suite.XSTEST: ("xstest*.csv", "*.csv"),
    Suite.STRATA_SWORD: ("strata_sword*.jsonl", "*.jsonl"),
    Suite.GSM8K: ("test.jsonl", "gsm8k*.jsonl"),
}


def suite_files(suite: Suite, path: str | Path) -> list[Path]:
    """The files to read: ``path`` itself, or the suite's files found under the folder ``path``.

    Raises:
        InputError: the path does not exist or the folder holds none of the suite's files.
    """
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(f"data path {root} does not exist; pass the benchmark file or a folder holding it")
    for pattern in FILE_PATTERNS[suite]:
        found = sorted(p for p in root.rglob(pattern) if p.is_file())
        if found:
            return found
    raise InputError(f"no {suite.value} files under {root} (looked for {', '.join(FILE_PATTERNS[suite])})")


def item_from(where: Path | str, line: int, data: dict[str, Any]) -> EvalItem:
    try:
        return EvalItem.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{where}:{line}: {describe_errors(exc, root='')}") from exc


def unique_ids(items: list[EvalItem]) -> list[EvalItem]:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InputError(f"duplicate item id {item.id!r} in the {item.suite.value} data; ids must be unique")
        seen.add(item.id)
    return items
