"""General data mixed into an SFT set so the student keeps its general skills.

A mix source is a JSON Lines file of ``{"question", "answer"}`` rows (the GSM8K format: a worked
solution with ``<<expr=value>>`` calculator notes and a last line ``#### N``) or of chat rows
(``{"messages": [...]}``). ``--mix FILE:SHARE`` adds enough rows, drawn without replacement with the
export's seed, that they make up SHARE of the SFT rows.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from oyster_agents.errors import InputError

_CALC_NOTE = re.compile(r"<<[^<>]*>>")
_FINAL = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)


class MixSource(BaseModel):
    """One ``FILE:SHARE`` argument.

    Attributes:
        path: the JSON Lines file.
        share: the share of the final SFT rows drawn from it, in (0, 1).
    """

    path: str
    share: float = Field(gt=0.0, lt=1.0)

    @classmethod
    def parse(cls, spec: str) -> "MixSource":
        """Parse ``FILE:SHARE`` (SHARE a fraction such as 0.2, or a percentage such as 20%)."""
        path, sep, raw = spec.rpartition(":")
        if not sep or not path or not raw:
            raise InputError(f"--mix expects FILE:SHARE (e.g. data/gsm8k/train.jsonl:0.2), got {spec!r}")
        try:
            share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError as exc:
            raise InputError(f"--mix {spec!r}: SHARE must be a number such as 0.2 or 20%") from exc
        if not 0 < share < 1:
            raise InputError(f"--mix {spec!r}: SHARE must lie strictly between 0 and 1 (it is the mixed rows' share)")
        return cls(path=path, share=share)


def rows_needed(base_rows: int, shares: list[float]) -> list[int]:
    """How many rows each source adds so that it makes up its share of the total.

    With ``b`` base rows and shares ``s_i`` (summing below 1) the total is ``b / (1 - Σs)`` and
    source ``i`` adds ``round(s_i * total)`` rows.
    """
    rest = 1.0 - sum(shares)
    if rest <= 0:
        raise InputError(f"--mix shares add up to {sum(shares):.2f}; they must leave room for the trace rows (< 1)")
    total = base_rows / rest
    return [round(share * total) for share in shares]


def worked_answer(solution: str, style: str) -> str:
    """A GSM8K worked solution as an assistant turn.

    Calculator notes are removed (the text already states each result), and the ``#### N`` line
    becomes a closing sentence. With ``think`` the working goes inside ``<think>`` and the turn ends
    with the final answer, as the distilled rows do; otherwise the working is the answer's body.
    """
    match = _FINAL.search(solution)
    final = match.group(1).strip() if match else ""
    working = _FINAL.sub("", _CALC_NOTE.sub("", solution))
    steps = [" ".join(line.split()) for line in working.split("\n")]
    body = "\n".join(step for step in steps if step)
    closing = f"The answer is {final}." if final else ""
    if style == "think" and body and closing:
        return f"<think>\n{body}\n</think>\n\n{closing}"
    return "\n".join(part for part in (body, closing) if part)


def mix_rows(
    source: MixSource, count: int, seed: int, style: str, *, keep: Callable[[int, str], bool] | None = None
) -> list[dict[str, Any]]:
    """``count`` chat rows drawn from ``source`` without replacement (seeded), with their lineage.

    Args:
        source: the file and its share.
        count: rows to draw.
        seed: the draw's seed.
        style: the export's reasoning format (``think`` puts the working inside ``<think>``).
        keep: ``(line, question) -> bool``; records it rejects (e.g. evaluation prompts) are not drawn.

    Raises:
        InputError: the file is unreadable, malformed, or holds fewer usable rows than ``count``.
    """
    records = _read(Path(source.path))
    if keep is not None:
        records = [(line, r) for line, r in records if keep(line, _question(r))]
    if count > len(records):
        raise InputError(
            f"--mix {source.path}: {count} rows are needed for a share of {source.share:g}, "
            f"but the file has only {len(records)} usable rows; lower the share"
        )
    picked = sorted(random.Random(seed).sample(range(len(records)), count))
    rows = []
    for index in picked:
        line, record = records[index]
        if "messages" in record:
            messages = record["messages"]
        else:
            messages = [
                {"role": "user", "content": record["question"].strip()},
                {"role": "assistant", "content": worked_answer(record["answer"], style)},
            ]
        rows.append({
            "messages": messages,
            "lineage": {"source": f"{source.path}:{line}", "mix": Path(source.path).name, "category": "general",
                        "level": "", "verdict": ""},
        })
    return rows


def _question(record: dict[str, Any]) -> str:
    if "messages" in record:
        users = [m.get("content", "") for m in record["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users else ""
    return record["question"]


def _read(path: Path) -> list[tuple[int, dict[str, Any]]]:
    from oyster_agents._records import read_objects

    shape = "{'question', 'answer'} or {'messages': [...]}"
    records = []
    try:
        for number, record in read_objects(path, expected=shape):
            chat = isinstance(record.get("messages"), list) and record["messages"]
            qa = isinstance(record.get("question"), str) and isinstance(record.get("answer"), str)
            if not (chat or qa):
                raise InputError(f"{path}:{number}: expected {shape}")
            records.append((number, record))
    except InputError as exc:
        raise InputError(f"--mix {exc}") from None
    return records
