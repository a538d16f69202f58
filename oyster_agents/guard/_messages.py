"""Messages in and out of the guard: a conversation as a turn to assess, replies as messages and chunks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage

from oyster_agents.errors import InputError
from oyster_agents.schemas import ChatTurn

# Blocks that are not something the user sent: LangChain's standard types, and providers' own names for them.
_NOT_ATTACHMENTS = frozenset({"text", "reasoning", "tool_call", "tool_call_chunk", "invalid_tool_call",
                              "server_tool_call", "server_tool_call_chunk", "server_tool_result",
                              "tool_use", "thinking"})


@dataclass
class Turn:
    """The latest user message and the conversation before it."""

    query: str
    history: list[ChatTurn]

    def key(self) -> str:
        """A digest of the turn: tool-loop steps that follow one user message share it."""
        data = [self.query, [(t.role, t.content) for t in self.history]]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()


def split_turn(messages: Sequence[BaseMessage]) -> Turn:
    """The latest user message as the query; every message before it as history.

    Tool calls and tool results become assistant turns in words, so the assessor sees them.

    Raises:
        InputError: there is no message at all.
    """
    if not messages:
        raise InputError("the guard got no messages; pass at least the user's message")
    last_user = max((i for i, m in enumerate(messages) if m.type == "human"), default=len(messages) - 1)
    history = [turn for m in messages[:last_user] if (turn := to_chat_turn(m)) is not None]
    return Turn(query=text_of(messages[last_user]), history=history)


def to_chat_turn(message: BaseMessage) -> ChatTurn | None:
    """A LangChain message as a history turn (``None`` for an empty one)."""
    text = text_of(message)
    if message.type == "human":
        role = "user"
    elif message.type == "system":
        role = "system"
    elif isinstance(message, ToolMessage):
        role, text = "assistant", f"(tool {message.name or 'result'} returned) {text}"
    else:
        role = "assistant"
        calls = getattr(message, "tool_calls", None) or []
        if calls:
            called = ", ".join(f"{c['name']}({json.dumps(c.get('args', {}), ensure_ascii=False)})" for c in calls)
            text = f"{text} (called tools: {called})".strip()
    return ChatTurn(role=role, content=text) if text.strip() else None


def text_of(message: BaseMessage) -> str:
    """The text of a message for the assessor, one line per block; a non-text block (an image, a file)
    becomes a placeholder such as ``[image attached]``, so the assessor knows the user sent one.

    Blocks are read through LangChain's ``content_blocks``, which names provider formats alike
    (``image_url`` and ``image`` are both ``image``; ``input_audio`` is ``audio``).
    """
    if isinstance(message.content, str):
        return message.content
    parts = [block["text"] if block["type"] == "text" else _placeholder(block) for block in message.content_blocks]
    return "\n".join(p for p in parts if p)


def _placeholder(block: Mapping[str, Any]) -> str:
    kind = str(block["type"])
    if kind == "non_standard":  # a provider's own block: named by its own type
        value = block.get("value")
        kind = str(value.get("type") or "attachment") if isinstance(value, Mapping) else "attachment"
    return "" if kind in _NOT_ATTACHMENTS else f"[{kind} attached]"


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """The answer up to the first stop sequence, as a model honouring ``stop`` would end it."""
    cut = min((i for s in stop or () if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def as_ai(message: Any) -> AIMessage:
    """A model's reply as an ``AIMessage`` (a runnable may return another message type)."""
    if isinstance(message, AIMessage):
        return message
    return AIMessage(content=getattr(message, "content", str(message)))


def as_chunk(message: Any, *, last: bool = True) -> AIMessageChunk:
    """A whole reply as one chunk (a model that does not stream yields one): tool calls, usage, metadata kept.

    ``last`` marks it as the final chunk of its stream, so its tool calls are complete.
    """
    if isinstance(message, AIMessageChunk):
        return message
    if not isinstance(message, AIMessage):
        return AIMessageChunk(content=getattr(message, "content", str(message)))
    return AIMessageChunk(**message.model_dump(exclude={"type"}), chunk_position="last" if last else None)
