"""Strategist: one candidate response strategy of a given kind (the graph fans out K of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import invoke_structured
from oyster_agents.nodes._common import bookkeeping, fallback_data, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import CandidateStrategy, StrategyKind, StrategyProposal
from oyster_agents.taxonomy import Taxonomy

ROLE = "strategist"
KINDS = list(StrategyKind)


def kind_for(index: int) -> StrategyKind:
    """Candidates cycle through the four kinds so any K spans them."""
    return KINDS[index % len(KINDS)]


def fallback_proposal(kind: StrategyKind) -> StrategyProposal:
    """The documented template for a kind (``prompts/fallbacks.yaml``)."""
    return StrategyProposal.model_validate(fallback_data()["candidates"][kind.value])


def _non_empty(value: StrategyProposal) -> StrategyProposal:
    if not value.usefulness_strategies or not value.safety_strategies:
        raise ValueError("both strategy lists need at least one item")
    return value


def make_strategist(runtime: RoleRuntime, taxonomy: Taxonomy) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``propose_strategy`` node; its input is a ``StrategyTask``."""
    system = {"schema": schema_hint(StrategyProposal)}

    def propose_strategy(task: dict[str, Any]) -> dict[str, Any]:
        kind = StrategyKind(task["kind"])
        assessment = task["assessment"]
        messages = messages_for(
            ROLE,
            system,
            {
                "query": task["query"],
                "history": task.get("history", []),
                "assessment": assessment,
                "guideline": assessment.adapted_guideline,
                "rule": task.get("policy_rule") or taxonomy.rule_for(assessment.category)[1],
                "kind": kind.value,
            },
        )
        result = invoke_structured(
            runtime, messages, StrategyProposal, fallback=lambda _: fallback_proposal(kind), postprocess=_non_empty
        )
        tokens = sum(c.output_tokens for c in result.calls)
        candidate = CandidateStrategy(
            **result.value.model_dump(), index=task["index"], kind=kind, output_tokens=tokens
        )
        update = bookkeeping(result)
        update["candidates"] = [candidate]
        return update

    return propose_strategy
