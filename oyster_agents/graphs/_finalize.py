"""The ``finalize`` node: the pearl point among the iterates becomes the answer and the run's trace."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage

from oyster_agents.config import OysterConfig
from oyster_agents.game.selection import select_iterate
from oyster_agents.graphs.lingo_bp import LOOP_ROLE
from oyster_agents.graphs.review import apply_review
from oyster_agents.nodes._common import fallback_data
from oyster_agents.schemas import ChatTurn, Fallback, RunTrace, Usage
from oyster_agents.schemas.trace import ALL_UNSAFE
from oyster_agents.telemetry import current_trace_id


def make_finalizer(config: OysterConfig) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build ``finalize``: select the iterate, apply the safety gate and any review, write the trace."""

    def finalize(state: dict[str, Any]) -> dict[str, Any]:
        iterates = state["iterates"]
        selection = select_iterate(iterates)
        best = selection.index
        answer = iterates[best].answer
        fallbacks = list(state.get("fallbacks", []))
        if selection.use_fallback_answer:  # the safety gate: no unsafe answer leaves the graph
            answer = str(fallback_data()["answer"]).strip()
            fallbacks.append(Fallback(role=LOOP_ROLE, kind=ALL_UNSAFE, detail=selection.reason))
        started = state.get("started_at") or time.time()
        trace = RunTrace(
            id=state.get("id"),
            query=state["query"],
            history=state.get("history", []),
            profile=state.get("profile"),
            assessment=state["assessment"],
            assessment_reused=bool(state.get("assessment_reused")),
            candidates=state["scored"],
            chosen=state["chosen"],
            boundary_feasible=state.get("boundary_feasible", True),
            iterates=iterates,
            best_iterate=best,
            selection_reason=selection.reason,
            policy_rule_id=state.get("policy_rule_id"),
            policy_rule=state.get("policy_rule", ""),
            boundary_limit=state.get("boundary_limit"),
            answer=answer,
            usage=Usage.from_calls(state.get("usage", []), wall_seconds=time.time() - started),
            fallbacks=fallbacks,
            config={"game": config.game.model_dump(), "loop": config.loop.model_dump()},
            trace_id=current_trace_id(),
        )
        trace = apply_review(trace, state.get("review"))  # a human's decision, if one was asked for
        # Multi-turn memory: the next run on a checkpointed thread starts from this history.
        history = [*trace.history, ChatTurn(role="user", content=trace.query),
                   ChatTurn(role="assistant", content=trace.answer)]
        return {"answer": trace.answer, "trace": trace.model_dump(mode="json"), "history": history,
                "messages": [AIMessage(content=trace.answer, id=f"answer-{trace.id}" if trace.id else None)]}

    return finalize
