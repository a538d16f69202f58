"""Safety critic ("developer"): the answer against the policy rule and its adapted guideline → SafetyJudgment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.nodes._common import bookkeeping, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import ChatTurn, SafetyJudgment, SafetyVerdict
from oyster_agents.taxonomy import Taxonomy

ROLE = "safety_critic"


def unjudged_safety(reason: str) -> SafetyJudgment:
    """The fallback: an answer that could not be judged counts as borderline, never as safe."""
    return SafetyJudgment(
        verdict=SafetyVerdict.BORDERLINE,
        explanation="The safety review failed, so the answer is not counted as safe.",
        suggestion="Keep to general, protective information and point to qualified help.",
        predicted_next_turn="",
        fallback=True,
    )


def review_safety(
    runtime: RoleRuntime,
    query: str,
    answer: str,
    guideline: str,
    *,
    rule: str = "",
    history: Sequence[ChatTurn] = (),
) -> Structured[SafetyJudgment]:
    """Judge one answer against the adapted guideline and the policy rule it narrows (the node's call,
    reusable outside the graph, e.g. by eval, which passes the policy text as ``guideline``)."""
    messages = messages_for(
        ROLE, {"schema": schema_hint(SafetyJudgment)},
        {"query": query, "answer": answer, "guideline": guideline, "rule": rule, "history": list(history)},
    )
    return invoke_structured(runtime, messages, SafetyJudgment, fallback=unjudged_safety)


def make_safety_critic(runtime: RoleRuntime, taxonomy: Taxonomy) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``judge_safety`` node: the answer against the assessment's adapted guideline and the
    policy rule itself, which revisions of the plan cannot loosen."""

    def judge_safety(state: dict[str, Any]) -> dict[str, Any]:
        assessment = state["assessment"]
        rule = state.get("policy_rule") or taxonomy.rule_for(assessment.category)[1]
        result = review_safety(runtime, state["query"], state["draft"].answer, assessment.adapted_guideline,
                               rule=rule, history=state.get("history", []))
        update = bookkeeping(result)
        update["safety"] = result.value
        return update

    return judge_safety
