"""Find and repair the JSON object inside a model's reply.

A reply may quote JSON before its own answer: a model often repeats the user's message, and the
user may have written an object shaped like ours. The model's own object comes last, so the search
runs from the end of the reply, and with ``accept`` it takes the last object that fits the schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from oyster_agents._safe_load import MAX_DEPTH, ReadError, loads_json

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
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
    """``(start, end)`` of each outermost balanced ``{...}``, strings inside braces respected.

    One pass with a stack of open braces: an unbalanced ``{`` in prose stays on the stack and is
    ignored, so it hides no object that follows it, and a reply of braces costs linear time.
    """
    spans, _ = _scan(text)
    outermost: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if outermost and start < outermost[-1][1]:
            continue  # inside the previous outermost span
        outermost.append((start, end))
    return outermost


def _structure(text: str, *, quotes_anywhere: bool) -> Iterator[tuple[int, str]]:
    """``(position, character)`` of each brace and bracket outside JSON strings, in order.

    A ``"`` opens a string inside an open brace; with ``quotes_anywhere``, also outside one (in the
    text of an object already cut out, a quote can only be JSON's).
    """
    braces = 0
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = quotes_anywhere or braces > 0
        elif ch in "{}[]":
            if ch == "{":
                braces += 1
            elif ch == "}" and braces:
                braces -= 1
            yield i, ch


def _scan(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Every balanced span, and the positions of the braces still open at the end."""
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    for i, ch in _structure(text, quotes_anywhere=False):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            spans.append((stack.pop(), i + 1))
    return spans, stack


def _nesting(text: str) -> int:
    """The deepest nesting of brackets and braces outside strings."""
    depth = deepest = 0
    for _, ch in _structure(text, quotes_anywhere=True):
        if ch in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif depth > 0:
            depth -= 1
    return deepest


def _repair_start(text: str) -> int:
    """Where the object to repair starts: the first brace still open after the last balanced object
    (a reply cut at max_tokens), else the last balanced object, else the first ``{``."""
    spans = _balanced_spans(text)
    _, still_open = _scan(text)
    after = spans[-1][1] if spans else 0
    tail = [position for position in still_open if position >= after]
    if tail:
        return tail[0]
    if spans:
        return spans[-1][0]
    return text.find("{")
