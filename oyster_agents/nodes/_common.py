"""Small helpers shared by the nodes: prompt assembly and state-update bookkeeping."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from oyster_agents.backends.structured import Structured
from oyster_agents.prompts import fallback_data, render
from oyster_agents.schemas import ReactionProposal, StrategyKind, UserType


def messages_for(role: str, system: dict[str, Any], user: dict[str, Any]) -> list[BaseMessage]:
    """System prompt (static prefix) then the per-query user prompt."""
    return [SystemMessage(content=render(role, "system", **system)), HumanMessage(content=render(role, "user", **user))]


def bookkeeping(result: Structured[Any]) -> dict[str, Any]:
    """The usage and fallback updates a structured call contributes to the state."""
    return {"usage": list(result.calls), "fallbacks": list(result.fallbacks)}


def prior_reaction(user_type: UserType, kind: StrategyKind) -> ReactionProposal:
    """The documented prior reaction used when simulation fails (``prompts/fallbacks.yaml``)."""
    entry = fallback_data()["reactions"][user_type.value][kind.value]
    return ReactionProposal(next_message="", **entry)
