"""Find and repair the JSON object inside a model's reply."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> tuple[Any, bool]:
    """Return ``(value, repaired)``: the first JSON object in ``text``.

    Tries, in order: the whole text, a fenced block, the first balanced ``{...}`` span, and
    finally ``json_repair`` (truncated output, single quotes, trailing commas).

    Raises:
        ValueError: nothing that looks like a JSON object could be recovered.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the reply is empty")
    for candidate in _candidates(stripped):
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value, candidate != stripped
    import json_repair

    start = stripped.find("{")
    if start < 0:
        raise ValueError("the reply contains no JSON object")
    value = json_repair.loads(stripped[start:])
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    if not isinstance(value, dict) or not value:
        raise ValueError("the reply's JSON could not be repaired into an object")
    return value, True


def _candidates(text: str) -> list[str]:
    out = [text]
    out += [m.group(1).strip() for m in _FENCE.finditer(text)]
    span = _balanced_object(text)
    if span:
        out.append(span)
    return out


def _balanced_object(text: str) -> str | None:
    start = text.find("{")
    while start >= 0:
        depth, in_string, escaped = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
    return None
