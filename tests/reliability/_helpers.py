"""Shared helpers for the reliability tests: scripted replies, call counts, batch-output tallies."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from oyster_agents.backends.fake import minimal_instance

# Lingo-BP runs every step it is allowed: the fakes' scores never converge with this setting.
NO_CONVERGENCE = {"min_improvement": 0.0}


def schema_reply(messages: Any, schema: Mapping[str, Any] | None) -> str:
    """What an unscripted fake says: the smallest schema-valid JSON, or a short answer."""
    return json.dumps(minimal_instance(schema)) if schema else "<think>Plan.</think>A careful answer."


def slow_reply(seconds: float) -> Callable[[Any, Any], str]:
    """A scripted entry that takes ``seconds`` before answering like :func:`schema_reply`."""

    def reply(messages: Any, schema: Any) -> str:
        time.sleep(seconds)
        return schema_reply(messages, schema)

    return reply


def call_counts(models: Mapping[str, Any]) -> Counter[str]:
    """LLM calls per role made so far by a dict of ``ScriptedChatModel``."""
    return Counter({role: len(model.calls) for role, model in models.items()})


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file (split on ``\\n`` only, as JSON Lines defines)."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def tally(input_ids: Iterable[str], records: list[dict[str, Any]]) -> dict[str, int]:
    """Started, completed, ok, errors, lost and duplicated for a batch output."""
    wanted = list(input_ids)
    seen = Counter(str(r.get("id")) for r in records)
    errors = sum(1 for r in records if r.get("status") == "error")
    return {
        "started": len(wanted),
        "completed": sum(1 for i in wanted if seen[i] >= 1),
        "ok": len(records) - errors,
        "errors": errors,
        "lost": sum(1 for i in wanted if seen[i] == 0),
        "duplicated": sum(n - 1 for n in seen.values() if n > 1),
    }
