"""User simulator: how one user type reacts to one candidate strategy (the graph fans out K×3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import invoke_structured
from oyster_agents.nodes._common import bookkeeping, messages_for, prior_reaction
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import ReactionProposal, SimulatedReaction, UserType

ROLE = "user_simulator"


def make_user_simulator(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``simulate_user`` node; its input is a ``SimulationTask``."""
    system = {"schema": schema_hint(ReactionProposal)}

    def simulate_user(task: dict[str, Any]) -> dict[str, Any]:
        candidate = task["candidate"]
        user_type = UserType(task["user_type"])
        messages = messages_for(
            ROLE, system, {"query": task["query"], "candidate": candidate, "user_type": user_type.value}
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
