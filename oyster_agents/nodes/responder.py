"""Responder (forward pass): (query, chain, policy rule) → short reasoning and the answer.

Also writes iterate 0 in the unguided start: the model's own answer to the conversation, with no
plan (``make_unguided_responder``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages

from oyster_agents.backends.calls import RoleRuntime, call_model
from oyster_agents.nodes._common import fallback_data, messages_for
from oyster_agents.prompts import render
from oyster_agents.schemas import CallRecord, ChatTurn, Draft, Fallback

ROLE = "responder"
UNGUIDED_PROMPT = "responder_unguided"
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str, str, bool]:
    """Split ``<think>...</think>answer``; returns (reasoning, answer, well_formed)."""
    match = _THINK.search(text)
    if match:
        return match.group(1).strip(), (text[: match.start()] + text[match.end() :]).strip(), True
    if "<think>" in text.lower():  # cut off inside the reasoning: keep the text as the answer
        return "", re.sub(r"(?i)</?think>", "", text).strip(), False
    return "", text.strip(), True


def answer_tokens(output_tokens: int, reasoning: str, answer: str) -> int:
    """The answer's share of the reply's output tokens (all of them when there is no reasoning).

    The backend counts the whole reply; with reasoning in front, the answer's share is taken in
    proportion to its characters.
    """
    if not reasoning:
        return output_tokens
    return round(output_tokens * len(answer) / max(1, len(reasoning) + len(answer)))


def write_answer(runtime: RoleRuntime, messages: Sequence[BaseMessage]) -> tuple[Draft, list[CallRecord], list[Fallback]]:
    """Call the model until it gives a non-empty answer (re-asks per ``max_reasks``), else the
    documented cautious answer."""
    calls: list[CallRecord] = []
    fallbacks: list[Fallback] = []
    for _ in range(runtime.config.max_reasks + 1):
        message, record = call_model(runtime, messages)
        calls.append(record)
        text = message.text
        reasoning, answer, well_formed = split_reasoning(text)
        if answer:
            if not well_formed:
                fallbacks.append(Fallback(role=ROLE, kind="unclosed_reasoning", detail="reasoning cut off"))
            if len(calls) > 1:
                fallbacks.append(Fallback(role=ROLE, kind="reasked", detail=f"answer after {len(calls)} attempts"))
            tokens = answer_tokens(record.output_tokens, reasoning, answer)
            return Draft(reasoning=reasoning, answer=answer, answer_tokens=tokens), calls, fallbacks
    fallbacks.append(Fallback(role=ROLE, kind="fallback_value", detail="empty answer after re-asks"))
    answer = fallback_data()["answer"].strip()
    return Draft(reasoning="", answer=answer, answer_tokens=len(answer.split()), fallback=True), calls, fallbacks


def make_responder(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``respond`` node: the answer written from the chain, with the policy rule beside it."""

    def respond(state: dict[str, Any]) -> dict[str, Any]:
        messages = messages_for(
            ROLE, {}, {"query": state["query"], "history": state.get("history", []), "chain": state["chain"],
                       "rule": state.get("policy_rule", "")}
        )
        draft, calls, fallbacks = write_answer(runtime, messages)
        return {"draft": draft, "usage": calls, "fallbacks": fallbacks}

    return respond


def unguided_messages(query: str, history: Sequence[ChatTurn]) -> list[BaseMessage]:
    """The plain conversation: a static system line, the earlier turns as chat messages, the query."""
    turns = [{"role": t.role, "content": t.content} for t in history if t.role in ("user", "assistant")]
    return convert_to_messages([{"role": "system", "content": render(UNGUIDED_PROMPT, "system")}, *turns,
                                {"role": "user", "content": query}])


def make_unguided_responder(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``answer_unguided`` node: iterate 0's answer, the model's own reply to the conversation."""

    def answer_unguided(state: dict[str, Any]) -> dict[str, Any]:
        draft, calls, fallbacks = write_answer(runtime, unguided_messages(state["query"], state.get("history", [])))
        return {"draft": draft, "usage": calls, "fallbacks": fallbacks}

    return answer_unguided
