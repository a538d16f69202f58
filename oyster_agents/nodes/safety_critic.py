"""Safety critic ("developer"): the answer against the adapted guideline → SafetyJudgment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.nodes._common import bookkeeping, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import SafetyJudgment, SafetyVerdict
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


def critic_guideline(state: dict[str, Any], taxonomy: Taxonomy) -> str:
    """The adapted guideline plus the category's own rules, which revisions cannot loosen."""
    assessment = state["assessment"]
    return f"{state['chain'].guideline}\n\nCategory rules:\n{taxonomy.guideline_for(assessment.category)}"


def review_safety(runtime: RoleRuntime, query: str, answer: str, guideline: str) -> Structured[SafetyJudgment]:
    """Judge one answer against a guideline (the node's call, reusable outside the graph, e.g. by eval)."""
    messages = messages_for(
        ROLE, {"schema": schema_hint(SafetyJudgment)}, {"query": query, "answer": answer, "guideline": guideline}
    )
    return invoke_structured(runtime, messages, SafetyJudgment, fallback=unjudged_safety)


def make_safety_critic(runtime: RoleRuntime, taxonomy: Taxonomy) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``judge_safety`` node."""

    def judge_safety(state: dict[str, Any]) -> dict[str, Any]:
        result = review_safety(runtime, state["query"], state["draft"].answer, critic_guideline(state, taxonomy))
        update = bookkeeping(result)
        update["safety"] = result.value
        return update

    return judge_safety
