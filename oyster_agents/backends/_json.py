"""Find and repair the JSON object inside a model's reply.

A reply may quote JSON before its own answer: a model often repeats the user's message, and the
user may have written an object shaped like ours. The model's own object comes last, so the search
runs from the end of the reply, and with ``accept`` it takes the last object that fits the schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from oyster_agents._safe_load import MAX_DEPTH, ReadError, loads_json

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
# Unbalanced braces in prose make the scanner start again after them; past this many restarts the
# reply is hopeless and scanning stops, so a reply of braces costs linear time, not quadratic.
_MAX_RESTARTS = 32
MAX_REPAIR_CHARS = 200_000


def extract_json(text: str, accept: Callable[[dict[str, Any]], bool] | None = None) -> tuple[Any, bool]:
    """Return ``(value, repaired)``: the model's JSON object in ``text``.

    Tries, in order: the whole text; then the fenced blocks and balanced ``{...}`` spans from the
    last to the first, taking the last one ``accept`` approves (without ``accept``, or when none is
    approved, the last one that decodes); finally ``json_repair`` on the last object (truncated
    output, single quotes, trailing commas).

    Args:
        text: the reply.
        accept: says whether a decoded object fits the expected schema.

    Raises:
        ValueError: nothing that looks like a JSON object could be recovered.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the reply is empty")
    whole = _decode(stripped)
    if isinstance(whole, dict):
        return whole, False
    decoded = [value for value in map(_decode, _candidates(stripped)) if isinstance(value, dict)]
    if decoded:
        fitting = [value for value in decoded if accept is None or accept(value)]
        return (fitting or decoded)[-1], True
    start = _repair_start(stripped)
    if start < 0:
        raise ValueError("the reply contains no JSON object")
    tail = stripped[start:]
    # json_repair slows down sharply on deep or huge input: refuse what no valid reply looks like.
    if len(tail) > MAX_REPAIR_CHARS:
        raise ValueError(f"the reply's JSON is over {MAX_REPAIR_CHARS:,} characters and does not decode")
    if _nesting(tail) > MAX_DEPTH:
        raise ValueError(f"the reply's JSON is nested deeper than {MAX_DEPTH} levels")
    import json_repair

    try:
        value = json_repair.loads(tail)
    except RecursionError:
        raise ValueError("the reply's JSON is nested too deeply") from None
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    if not isinstance(value, dict) or not value:
        raise ValueError("the reply's JSON could not be repaired into an object")
    try:
        loads_json(_dumps(value))  # the depth limit holds for repaired output too
    except ReadError as exc:
        raise ValueError(f"the reply's JSON is {exc.message}") from None
    return value, True


def _decode(candidate: str) -> Any:
    try:
        return loads_json(candidate)
    except ReadError:
        return None


def _dumps(value: Any) -> str:
    import json

    try:
        return json.dumps(value)
    except (RecursionError, ValueError):
        return "[" * 10_000  # refused by the depth check


def _candidates(text: str) -> list[str]:
    """Fenced blocks and top-level balanced ``{...}`` spans, in order of their end in the text."""
    found = [(m.end(), m.group(1).strip()) for m in _FENCE.finditer(text)]
    found += [(end, text[start:end]) for start, end in _balanced_spans(text)]
    return [span for _, span in sorted(found, key=lambda item: item[0])]


def _balanced_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each top-level balanced ``{...}``, strings inside objects respected."""
    spans: list[tuple[int, int]] = []
    position, restarts = 0, 0
    while position < len(text):
        open_at = _scan(text, position, spans)
        if open_at is None or restarts >= _MAX_RESTARTS:
            break
        # An unbalanced "{" (prose, or a cut-off object): look again just after it.
        restarts += 1
        position = open_at + 1
    return sorted(set(spans))


def _scan(text: str, position: int, spans: list[tuple[int, int]]) -> int | None:
    """Scan from ``position``, appending closed spans; return where an unclosed object opened, if any."""
    depth, in_string, escaped, start = 0, False, False, -1
    for i in range(position, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"' and depth > 0:
            in_string = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return start if depth > 0 else None


def _nesting(text: str) -> int:
    """The deepest nesting of brackets and braces outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "}]" and depth > 0:
            depth -= 1
    return deepest


def _repair_start(text: str) -> int:
    """Where the object to repair starts: the last object still open at the end (a cut reply), else
    the last balanced span, else the first ``{``."""
    spans: list[tuple[int, int]] = []
    open_at = _scan(text, 0, spans)
    if open_at is not None:
        return open_at
    if spans:
        return spans[-1][0]
    return text.find("{")
