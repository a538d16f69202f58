"""Evaluation records: one benchmark item, the judge's verdicts on an answer, one per-item JSONL row,
and reading an ``items.jsonl`` back.

The record models are defined in :mod:`oyster_agents.schemas.evaluation` (the schema layer, so the
trace view reads evaluation output without loading this package) and exported here, where the
evaluation uses them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from oyster_agents._records import describe_errors, jsonl_records
from oyster_agents.errors import InputError
from oyster_agents.schemas.evaluation import (
    BinaryJudgment,
    BinaryVerdict,
    EvalItem,
    ItemRecord,
    Protocol,
    RefusalJudgment,
    RefusalLabel,
    RiskCategoryChoice,
    Suite,
    Verdicts,
)

__all__ = [
    "ITEMS_FILE",
    "BinaryJudgment",
    "BinaryVerdict",
    "EvalItem",
    "ItemRecord",
    "Protocol",
    "RefusalJudgment",
    "RefusalLabel",
    "RiskCategoryChoice",
    "Suite",
    "Verdicts",
    "read_records",
]

ITEMS_FILE = "items.jsonl"


def read_records(path: Path) -> list[ItemRecord]:
    """All rows of an ``items.jsonl`` (a torn last line from a killed run is skipped).

    Raises:
        InputError: a line other than the last is not a valid record.
    """
    if not path.is_file():
        return []
    records = []
    with path.open("rb") as handle:
        for record in jsonl_records(handle):
            problem = record.error
            if problem is None:
                try:
                    records.append(ItemRecord.model_validate(record.value))
                    continue
                except ValidationError as exc:
                    problem = describe_errors(exc, limit=1)
            if not record.terminated:  # a torn last line from a killed run
                break
            raise InputError(f"{path}:{record.line}: not an eval record ({problem}); "
                             "use a fresh --out folder or remove the line")
    return records
