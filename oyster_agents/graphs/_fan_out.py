"""The fan-outs: what each parallel branch (strategy, simulation, reaction to an answer) receives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.types import Send

from oyster_agents.graphs._names import PROPOSE, REACT, SIMULATE
from oyster_agents.nodes.strategist import kind_for
from oyster_agents.schemas import UserType
from oyster_agents.state import AnswerSimulationTask, SimulationTask, StrategyTask


def strategy_fan_out(candidates: int) -> Callable[[dict[str, Any]], list[Send]]:
    """After the assessment: one strategist branch per candidate (``loop.candidates``)."""

    def fan_out_strategies(state: dict[str, Any]) -> list[Send]:
        return [
            Send(PROPOSE, StrategyTask(query=state["query"], history=state.get("history", []),
                                       assessment=state["assessment"], policy_rule=state.get("policy_rule", ""),
                                       index=i, kind=kind_for(i).value, started_at=state.get("started_at")))
            for i in range(candidates)
        ]

    return fan_out_strategies


def fan_out_simulations(state: dict[str, Any]) -> list[Send]:
    """After the candidates: one user-simulator branch per (candidate, user type)."""
    return [
        Send(SIMULATE, SimulationTask(query=state["query"], history=state.get("history", []), candidate=cand,
                                      user_type=t.value, started_at=state.get("started_at")))
        for cand in sorted(state["candidates"], key=lambda c: c.index)
        for t in UserType
    ]


def fan_out_reactions(state: dict[str, Any]) -> list[Send]:
    """After an answer: the three follower reactions to it, concurrent with both critics."""
    return [
        Send(REACT, AnswerSimulationTask(query=state["query"], history=state.get("history", []),
                                         answer=state["draft"].answer, user_type=t.value,
                                         step=len(state.get("iterates", [])), iterates=state.get("iterates", []),
                                         started_at=state.get("started_at")))
        for t in UserType
    ]
