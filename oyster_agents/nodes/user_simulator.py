"""User simulator: how one user type reacts to a candidate strategy, or to an actual answer.

The graph fans out K×3 strategy branches (the leader's commitment) and 3 answer branches per
Lingo-BP iterate (the follower reacting to what it is shown); both see the conversation history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import invoke_structured
from oyster_agents.nodes._common import bookkeeping, fallback_data, messages_for, prior_reaction
from oyster_agents.prompts import render, schema_hint
from oyster_agents.schemas import ReactionProposal, SimulatedReaction, UserType

ROLE = "user_simulator"


def answer_prior(user_type: UserType) -> ReactionProposal:
    """The documented reaction to an answer when simulation fails (``prompts/fallbacks.yaml``)."""
    return ReactionProposal(next_message="", **fallback_data()["answer_reactions"][user_type.value])


def make_user_simulator(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``simulate_user`` node; its input is a ``SimulationTask`` (one candidate, one type)."""
    system = {"schema": schema_hint(ReactionProposal)}

    def simulate_user(task: dict[str, Any]) -> dict[str, Any]:
        candidate = task["candidate"]
        user_type = UserType(task["user_type"])
        messages = messages_for(
            ROLE, system, {"query": task["query"], "history": task.get("history", []), "candidate": candidate,
                           "user_type": user_type.value}
        )
        result = invoke_structured(
            runtime, messages, ReactionProposal, fallback=lambda _: prior_reaction(user_type, candidate.kind)
        )
        reaction = SimulatedReaction(
            **result.value.model_dump(), candidate_index=candidate.index, user_type=user_type
        )
        update = bookkeeping(result)
        update["reactions"] = [reaction]
        return update

    return simulate_user


def make_answer_simulator(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``react_to_answer`` node; its input is an ``AnswerSimulationTask`` (one answer, one
    type). The reaction's ``candidate_index`` is the iterate's step."""
    system = {"schema": schema_hint(ReactionProposal)}

    def react_to_answer(task: dict[str, Any]) -> dict[str, Any]:
        user_type = UserType(task["user_type"])
        messages = [
            SystemMessage(content=render(ROLE, "system", **system)),
            HumanMessage(content=render(ROLE, "answer", query=task["query"], history=task.get("history", []),
                                        answer=task["answer"], user_type=user_type.value)),
        ]
        result = invoke_structured(runtime, messages, ReactionProposal, fallback=lambda _: answer_prior(user_type))
        reaction = SimulatedReaction(**result.value.model_dump(), candidate_index=task["step"], user_type=user_type)
        update = bookkeeping(result)
        update["answer_reactions"] = [reaction]
        return update

    return react_to_answer
