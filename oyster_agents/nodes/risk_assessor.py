"""Risk assessor: query and history → RiskAssessment (category, level, form, severity, posterior, guideline)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.nodes._common import bookkeeping, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import (
    ChatTurn,
    Fallback,
    InteractionForm,
    RiskAssessment,
    RiskLevel,
    UserTypePosterior,
)
from oyster_agents.taxonomy import NONE_CATEGORY, Taxonomy

ROLE = "risk_assessor"


def conservative_assessment(query: str, taxonomy: Taxonomy, reason: str = "") -> RiskAssessment:
    """The fallback: a failed assessment counts as sensitive / R1, never as benign."""
    return RiskAssessment(
        category=NONE_CATEGORY,
        level=RiskLevel.R1,
        interaction_form=InteractionForm.INQUIRY,
        aggressive=False,
        severity=2,
        user_type_posterior=UserTypePosterior(benign=0.2, sensitive=0.6, malicious=0.2),
        user_need="Get careful, accurate help with the request.",
        risk_intent="Unknown: the assessment failed, so the request is treated as possibly risky.",
        adapted_guideline=taxonomy.guideline_for(NONE_CATEGORY),
    )


def assess(
    runtime: RoleRuntime,
    taxonomy: Taxonomy,
    query: str,
    history: Sequence[ChatTurn] = (),
    profile: str | None = None,
) -> Structured[RiskAssessment]:
    """Assess one message (the node's call, reusable outside the graph, e.g. by the guard).

    The category is resolved against the policy and a missing adapted guideline is replaced by the
    category's policy text; both repairs are recorded in ``fallbacks``.
    """
    categories = "\n".join(f"{c.id}: {c.name}" for c in taxonomy.categories) + f"\n{NONE_CATEGORY}: no risk category"
    messages = messages_for(
        ROLE,
        {"categories": categories, "schema": schema_hint(RiskAssessment)},
        {"query": query, "history": list(history), "profile": profile},
    )
    result = invoke_structured(
        runtime,
        messages,
        RiskAssessment,
        fallback=lambda reason: conservative_assessment(query, taxonomy, reason),
        schema_overrides={"category": {"enum": [*taxonomy.ids, NONE_CATEGORY]}},
    )
    assessment = result.value
    extra: list[Fallback] = []
    resolved = taxonomy.resolve(assessment.category)
    if resolved is None:
        extra.append(Fallback(role=ROLE, kind="unknown_category", detail=f"{assessment.category!r} → none"))
        resolved = NONE_CATEGORY
    guideline = assessment.adapted_guideline.strip()
    if len(guideline) < 20:
        extra.append(Fallback(role=ROLE, kind="policy_guideline", detail="adapted guideline missing; policy text used"))
        guideline = taxonomy.guideline_for(resolved)
    result.value = assessment.model_copy(update={"category": resolved, "adapted_guideline": guideline})
    result.fallbacks = [*result.fallbacks, *extra]
    return result


def make_risk_assessor(runtime: RoleRuntime, taxonomy: Taxonomy) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``assess_risk`` node."""

    def assess_risk(state: dict[str, Any]) -> dict[str, Any]:
        result = assess(runtime, taxonomy, state["query"], state.get("history", []), state.get("profile"))
        update = bookkeeping(result)
        update["assessment"] = result.value
        return update

    return assess_risk
