"""Satisfaction critic ("user"): the five-item rubric → SatisfactionJudgment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.nodes._common import bookkeeping, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import ChatTurn, RubricScores, SatisfactionJudgment

ROLE = "satisfaction_critic"


def unjudged_satisfaction(reason: str) -> SatisfactionJudgment:
    """The fallback: a neutral rubric (all 0), so a failed judge neither rewards nor punishes."""
    return SatisfactionJudgment(
        scores=RubricScores(empathy=0, willingness_to_help=0, task_completion=0, relevance=0, informativeness=0),
        fixes=[],
        fallback=True,
    )


def rate_satisfaction(
    runtime: RoleRuntime, query: str, answer: str, *, history: Sequence[ChatTurn] = (), guideline: str = "",
    rule: str = "",
) -> Structured[SatisfactionJudgment]:
    """Rate one answer on the rubric (the node's call, reusable outside the graph, e.g. by eval). With
    the policy rule and its adapted guideline, "as far as is safe" is judged against them."""
    messages = messages_for(
        ROLE, {"schema": schema_hint(SatisfactionJudgment)},
        {"query": query, "answer": answer, "history": list(history), "guideline": guideline, "rule": rule},
    )
    return invoke_structured(runtime, messages, SatisfactionJudgment, fallback=unjudged_satisfaction)


def make_satisfaction_critic(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``judge_satisfaction`` node."""

    def judge_satisfaction(state: dict[str, Any]) -> dict[str, Any]:
        result = rate_satisfaction(runtime, state["query"], state["draft"].answer, history=state.get("history", []),
                                   guideline=state["assessment"].adapted_guideline, rule=state.get("policy_rule", ""))
        update = bookkeeping(result)
        update["satisfaction"] = result.value
        return update

    return judge_satisfaction
