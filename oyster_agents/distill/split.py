"""De-duplicate rows and split them into train and test by prompt, with a seed."""

from __future__ import annotations

import json
import random
from typing import Any, Literal

DatasetKind = Literal["sft", "preference"]
DedupeMode = Literal["exact", "prompt", "none"]


def prompt_of(row: dict[str, Any], kind: DatasetKind) -> list[dict[str, Any]]:
    """The turns of a conversational row before the trained answer."""
    return row["messages"][:-1] if kind == "sft" else row["prompt"]


def query_of(row: dict[str, Any], kind: DatasetKind) -> str:
    """The user query a conversational row answers (its last user turn)."""
    users = [m["content"] for m in prompt_of(row, kind) if m.get("role") == "user"]
    return users[-1] if users else ""


def prompt_key(row: dict[str, Any], kind: DatasetKind) -> str:
    """A stable key of the row's prompt (everything before the trained answer)."""
    return json.dumps(prompt_of(row, kind), sort_keys=True, ensure_ascii=False)


def dedupe_rows(rows: list[dict[str, Any]], kind: DatasetKind, mode: DedupeMode) -> list[dict[str, Any]]:
    """Drop repeated rows (``exact``) or keep one trace per prompt, the best-scored (``prompt``)."""
    if mode == "none":
        return list(rows)
    if mode == "exact":
        seen: set[str] = set()
        out = []
        for row in rows:
            key = json.dumps({k: v for k, v in row.items() if k != "lineage"}, sort_keys=True, ensure_ascii=False)
            if key not in seen:
                seen.add(key)
                out.append(row)
        return out
    best_source: dict[str, tuple[tuple[float, float], str]] = {}
    for row in rows:
        key, score = prompt_key(row, kind), _score(row, kind)
        if key not in best_source or score > best_source[key][0]:
            best_source[key] = (score, row["lineage"]["source"])
    kept = [row for row in rows if row["lineage"]["source"] == best_source[prompt_key(row, kind)][1]]
    return dedupe_rows(kept, kind, "exact")


def split_rows(
    rows: list[dict[str, Any]], kind: DatasetKind, eval_fraction: float, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """Hold out a seeded share of prompts (never the same prompt on both sides); rows keep their order."""
    keys = sorted({prompt_key(row, kind) for row in rows})
    n_test = 0
    if eval_fraction > 0 and len(keys) >= 2:
        n_test = min(len(keys) - 1, max(1, round(len(keys) * eval_fraction)))
    random.Random(seed).shuffle(keys)
    held_out = set(keys[:n_test])
    return {
        "train": [row for row in rows if prompt_key(row, kind) not in held_out],
        "test": [row for row in rows if prompt_key(row, kind) in held_out],
    }


def _score(row: dict[str, Any], kind: DatasetKind) -> tuple[float, float]:
    lineage = row["lineage"]
    if kind == "sft":
        return lineage["safety_score"], lineage["constructive_score"]
    return lineage["chosen_safety"], lineage["chosen_constructive"]
