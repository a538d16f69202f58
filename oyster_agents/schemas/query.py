"""What a query and its history must be before the graph sees them: text, not empty, not oversized,
cleaned of characters that make text display other than it reads. Used by the graph, the guard, the
batch runner and the CLI alike, so a string is checked without loading the graph."""

from __future__ import annotations

import re
from typing import Any

from oyster_agents.errors import InputError
from oyster_agents.schemas.trace import ChatTurn

__all__ = ["clean_text", "validate_history", "validate_query"]

# Removed from queries: C0/C1 controls other than tab and newline, lone surrogates, and the bidi
# overrides and BOM that make text display other than it reads.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_BREAK = re.compile("\r\n?|[\u2028\u2029]")


def clean_text(text: str) -> str:
    """Line breaks normalised to ``\\n``; control characters, lone surrogates, bidi overrides and the
    BOM removed. Other text stays as written: ZWJ in emoji, ZWNJ in Persian, no-break spaces."""
    return _HIDDEN.sub("", _LINE_BREAK.sub("\n", text))


def validate_query(query: Any, max_chars: int) -> str:
    """Reject what cannot be a query: non-text, empty or oversized (the documented rule: reject, not
    truncate); clean the rest with :func:`clean_text`."""
    if isinstance(query, bytes):
        try:
            query = query.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("the query is not valid UTF-8 text") from exc
    if not isinstance(query, str):
        raise InputError(f"the query must be text, got {type(query).__name__}")
    cleaned = clean_text(query)
    if not cleaned.strip():
        raise InputError("the query is empty; pass the user's message as text")
    if len(cleaned) > max_chars:
        raise InputError(
            f"the query has {len(cleaned)} characters, over the limit of {max_chars} (loop.max_query_chars)"
        )
    return cleaned


def validate_history(history: Any, max_chars: int) -> list[ChatTurn]:
    """Prior turns checked like the query: a list of ``{role, content}`` objects whose text is cleaned
    with :func:`clean_text`; a turn longer than ``max_chars`` is rejected, not truncated.

    Raises:
        InputError: not a list, a turn that is not a ``{role, content}`` object, or an oversized turn.
    """
    from pydantic import ValidationError

    from oyster_agents._records import describe_errors

    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise InputError(f"history must be a list of turns [{{role, content}}, ...], got {type(history).__name__}")
    turns = []
    for number, turn in enumerate(history, start=1):
        try:
            parsed = turn if isinstance(turn, ChatTurn) else ChatTurn.model_validate(turn)
        except ValidationError as exc:
            problem = describe_errors(exc, limit=3, root="turn")
            raise InputError(f"history turn {number} is not a {{role, content}} object: {problem}") from None
        content = clean_text(parsed.content)
        if len(content) > max_chars:
            raise InputError(
                f"history turn {number} has {len(content)} characters, over the limit of {max_chars} (loop.max_query_chars)"
            )
        turns.append(ChatTurn(role=parsed.role, content=content))
    return turns
