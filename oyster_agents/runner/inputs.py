"""Batch input: JSONL lines holding ``query`` and optionally ``id``, ``history`` and ``profile``.

Bad lines are collected with their line numbers instead of stopping the run. A record without an
``id`` gets a stable one, a hash of its content, so a rerun recognises it and resume works.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oyster_agents.errors import InputError
from oyster_agents.schemas.trace import ChatTurn

ID_PREFIX = "q-"


class BatchItem(BaseModel):
    """One query to run: a validated input line."""

    model_config = ConfigDict(frozen=True)

    id: str
    query: str
    history: list[ChatTurn] = Field(default_factory=list)
    profile: str | None = None
    line: int = Field(description="Line number in the input (1-based), for error reports.")

    def graph_input(self) -> dict[str, Any]:
        """The input dict the constructive graph takes."""
        return {
            "id": self.id,
            "query": self.query,
            "history": [turn.model_dump() for turn in self.history],
            "profile": self.profile,
        }


class InputProblem(BaseModel):
    """An input line that cannot be run, and why."""

    line: int
    reason: str


class _InputLine(BaseModel):
    # Fields beyond these are ignored, so input files may carry their own metadata.
    model_config = ConfigDict(extra="ignore")

    query: str
    id: str | int | None = None
    history: list[ChatTurn] = Field(default_factory=list)
    profile: str | None = None

    @field_validator("id")
    @classmethod
    def _id_text(cls, value: str | int | None) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if not text:
            raise ValueError("id is empty; leave it out to get a stable generated id")
        return text


def stable_id(query: str, history: Iterable[ChatTurn | Mapping[str, Any]] = (), profile: str | None = None) -> str:
    """A deterministic id from the content that defines a run (query, history, profile).

    Key order and whitespace in the input line do not change it.
    """
    turns = [ChatTurn.model_validate(t).model_dump() for t in history]
    canonical = json.dumps(
        {"query": query, "history": turns, "profile": profile}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return ID_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def parse_records(
    records: Iterable[tuple[int, Any]], *, max_query_chars: int
) -> tuple[list[BatchItem], list[InputProblem]]:
    """Validate ``(line number, decoded value)`` pairs into items; report the rest as problems.

    A duplicate id (or an identical line without id) is a problem on its second occurrence.
    """
    from oyster_agents.schemas.query import validate_history, validate_query

    items: list[BatchItem] = []
    problems: list[InputProblem] = []
    first_line: dict[str, int] = {}
    for number, value in records:
        if not isinstance(value, dict):
            problems.append(InputProblem(line=number, reason=f"expected a JSON object, got {type(value).__name__}"))
            continue
        try:
            parsed = _InputLine.model_validate(value)
            validate_query(parsed.query, max_query_chars)
            history = validate_history(parsed.history, max_query_chars)
        except ValidationError as exc:
            problems.append(InputProblem(line=number, reason=_describe(exc)))
            continue
        except InputError as exc:
            problems.append(InputProblem(line=number, reason=str(exc)))
            continue
        key = parsed.id or stable_id(parsed.query, history, parsed.profile)
        if key in first_line:
            problems.append(InputProblem(line=number, reason=f"duplicate id {key!r} (first on line {first_line[key]})"))
            continue
        first_line[key] = number
        items.append(
            BatchItem(id=key, query=parsed.query, history=history, profile=parsed.profile, line=number)
        )
    return items, problems


def read_jsonl_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for each non-blank line; a line that cannot be read (not UTF-8,
    not JSON, nested too deep, over the size limit) yields an ``InputProblem`` instead.

    A byte-order mark at the start and ``\r\n`` line ends are accepted; the last line needs no ``\n``.

    Raises:
        InputError: the file cannot be opened.
    """
    from oyster_agents._records import jsonl_records

    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from exc
    with handle:
        for record in jsonl_records(handle):
            if record.error is not None:
                yield record.line, InputProblem(line=record.line, reason=record.error)
            else:
                yield record.line, record.value


def load_items(
    source: str | Path | Iterable[Mapping[str, Any]], *, max_query_chars: int
) -> tuple[list[BatchItem], list[InputProblem]]:
    """Items and problems from a JSONL path or from an iterable of dicts (numbered from 1)."""
    if isinstance(source, (str, Path)):
        pairs = list(read_jsonl_lines(source))
    else:
        pairs = [(number, dict(value) if isinstance(value, Mapping) else value) for number, value in enumerate(source, 1)]
    decoded = [(n, v) for n, v in pairs if not isinstance(v, InputProblem)]
    undecodable = [v for _, v in pairs if isinstance(v, InputProblem)]
    items, problems = parse_records(decoded, max_query_chars=max_query_chars)
    return items, sorted([*undecodable, *problems], key=lambda p: p.line)


def _describe(exc: ValidationError) -> str:
    from oyster_agents._records import describe_errors

    return describe_errors(exc, limit=3, root="(line)")
