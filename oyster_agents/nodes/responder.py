"""Responder (forward pass): (query, chain) → short reasoning and the answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from oyster_agents.backends.calls import RoleRuntime, call_model
from oyster_agents.nodes._common import fallback_data, messages_for
from oyster_agents.schemas import CallRecord, Draft, Fallback

ROLE = "responder"
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str, str, bool]:
    """Split ``<think>...</think>answer``; returns (reasoning, answer, well_formed)."""
    match = _THINK.search(text)
    if match:
        return match.group(1).strip(), (text[: match.start()] + text[match.end() :]).strip(), True
    if "<think>" in text.lower():  # cut off inside the reasoning: keep the text as the answer
        return "", re.sub(r"(?i)</?think>", "", text).strip(), False
    return "", text.strip(), True


def make_responder(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``respond`` node."""

    def respond(state: dict[str, Any]) -> dict[str, Any]:
        messages = messages_for(
            ROLE, {}, {"query": state["query"], "history": state.get("history", []), "chain": state["chain"]}
        )
        calls: list[CallRecord] = []
        fallbacks: list[Fallback] = []
        draft: Draft | None = None
        for _ in range(runtime.config.max_reasks + 1):
            message, record = call_model(runtime, messages)
            calls.append(record)
            text = message.content if isinstance(message.content, str) else str(message.content)
            reasoning, answer, well_formed = split_reasoning(text)
            if answer:
                if not well_formed:
                    fallbacks.append(Fallback(role=ROLE, kind="unclosed_reasoning", detail="reasoning cut off"))
                draft = Draft(reasoning=reasoning, answer=answer)
                break
        if draft is None:
            fallbacks.append(Fallback(role=ROLE, kind="fallback_value", detail="empty answer after re-asks"))
            draft = Draft(reasoning="", answer=fallback_data()["answer"].strip(), fallback=True)
        elif len(calls) > 1:
            fallbacks.append(Fallback(role=ROLE, kind="reasked", detail=f"answer after {len(calls)} attempts"))
        return {"draft": draft, "usage": calls, "fallbacks": fallbacks}

    return respond
