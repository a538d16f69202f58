"""Risk assessor: query and history → RiskAssessment (category, level, form, severity, posterior, guideline)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from oyster_agents._records import describe_errors
from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.errors import InputError
from oyster_agents.nodes._common import bookkeeping, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import (
    CallRecord,
    CategoryChoice,
    ChatTurn,
    Fallback,
    InteractionForm,
    RiskAssessment,
    RiskLevel,
    UserTypePosterior,
)
from oyster_agents.taxonomy import NONE_CATEGORY, Taxonomy

ROLE = "risk_assessor"
CLASSIFIER_PROMPT = "risk_classifier"  # step one's prompt files; the calls are the risk assessor's
MIN_GUIDELINE_CHARS = 20  # an adapted guideline shorter than this is replaced by the policy rule


def conservative_assessment(taxonomy: Taxonomy, reason: str = "", category: str = NONE_CATEGORY) -> RiskAssessment:
    """The fallback: a failed assessment counts as sensitive / R1, never as benign; its boundary is
    the policy rule of the classified category (the default guideline when that failed too)."""
    return RiskAssessment(
        category=category,
        level=RiskLevel.R1,
        interaction_form=InteractionForm.INQUIRY,
        aggressive=False,
        severity=2,
        user_type_posterior=UserTypePosterior(benign=0.2, sensitive=0.6, malicious=0.2),
        user_need="Get careful, accurate help with the request.",
        risk_intent="Unknown: the assessment failed, so the request is treated as possibly risky.",
        adapted_guideline=taxonomy.guideline_for(category),
    )


def classify(
    runtime: RoleRuntime, taxonomy: Taxonomy, query: str, history: Sequence[ChatTurn] = (), profile: str | None = None
) -> Structured[str]:
    """Step one: the policy category (an id of ``taxonomy``, or ``'none'``), from ids with one-line
    descriptions. An unknown label resolves to ``'none'`` and is recorded."""
    messages = messages_for(
        CLASSIFIER_PROMPT,
        {"categories": taxonomy.category_menu(), "schema": schema_hint(CategoryChoice)},
        {"query": query, "history": list(history), "profile": profile},
    )
    result = invoke_structured(
        runtime, messages, CategoryChoice, fallback=lambda _: CategoryChoice(category=NONE_CATEGORY),
        schema_overrides={"category": {"enum": [*taxonomy.ids, NONE_CATEGORY]}},
    )
    resolved = taxonomy.resolve(result.value.category)
    extra: list[Fallback] = []
    if resolved is None:
        extra.append(Fallback(role=ROLE, kind="unknown_category", detail=f"{result.value.category!r} → none"))
        resolved = NONE_CATEGORY
    return Structured(value=resolved, calls=result.calls, fallbacks=[*result.fallbacks, *extra], raw=result.raw)


def assess(
    runtime: RoleRuntime,
    taxonomy: Taxonomy,
    query: str,
    history: Sequence[ChatTurn] = (),
    profile: str | None = None,
) -> Structured[RiskAssessment]:
    """Assess one message in two steps (the node's call, reusable outside the graph, e.g. by the guard).

    1. Classify the policy category (:func:`classify`).
    2. Show the model *that category's rule text* from the policy and have it judge level, form,
       severity and posterior and adapt the rule to this message (the adapted guideline).

    The adapted guideline may narrow the rule, never drop it: one under 20 characters is replaced by
    the rule itself (recorded as ``policy_guideline``), and every later role sees the rule beside it.
    """
    step1 = classify(runtime, taxonomy, query, history, profile)
    category = step1.value
    rule_id, rule = taxonomy.rule_for(category)
    name = taxonomy.get(category).name if taxonomy.get(category) else "no risk category"
    messages = messages_for(
        ROLE,
        {"schema": schema_hint(RiskAssessment)},
        {"query": query, "history": list(history), "profile": profile,
         "category": rule_id, "category_name": name, "rule": rule},
    )
    result = invoke_structured(
        runtime,
        messages,
        RiskAssessment,
        fallback=lambda reason: conservative_assessment(taxonomy, reason, category=category),
        schema_overrides={"category": {"enum": [category]}},
    )
    assessment = result.value
    extra: list[Fallback] = []
    if taxonomy.resolve(assessment.category) != category:
        extra.append(Fallback(role=ROLE, kind="category_kept",
                              detail=f"step two said {assessment.category!r}; the classified {category!r} is kept"))
    guideline = assessment.adapted_guideline.strip()
    if len(guideline) < MIN_GUIDELINE_CHARS:
        extra.append(Fallback(role=ROLE, kind="policy_guideline", detail="adapted guideline missing; policy rule used"))
        guideline = rule
    result.value = assessment.model_copy(update={"category": category, "adapted_guideline": guideline})
    result.calls = [*step1.calls, *result.calls]
    result.fallbacks = [*step1.fallbacks, *result.fallbacks, *extra]
    return result


def _reused(given: Any) -> dict[str, Any]:
    """The state update for an assessment made before the run (``precomputed_assessment``): no model call.

    Raises:
        InputError: it is not ``{"assessment", "usage", "fallbacks"}`` with valid values.
    """
    if not isinstance(given, Mapping) or "assessment" not in given:
        raise InputError('precomputed_assessment must be {"assessment": ..., "usage": [...], "fallbacks": [...]}')
    try:
        return {
            "assessment": RiskAssessment.model_validate(given["assessment"]),
            "usage": [CallRecord.model_validate(c) for c in given.get("usage") or ()],
            "fallbacks": [Fallback.model_validate(f) for f in given.get("fallbacks") or ()],
        }
    except ValidationError as exc:
        raise InputError(f"precomputed_assessment is not a valid assessment: {describe_errors(exc, limit=3)}") from None


def make_risk_assessor(runtime: RoleRuntime, taxonomy: Taxonomy) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``assess_risk`` node. A ``precomputed_assessment`` in the state is returned as it is
    (and cleared, so a checkpointed thread's next turn is assessed anew); otherwise :func:`assess`."""

    def assess_risk(state: dict[str, Any]) -> dict[str, Any]:
        given = state.get("precomputed_assessment")
        if given is not None:
            update = _reused(given)
        else:
            result = assess(runtime, taxonomy, state["query"], state.get("history", []), state.get("profile"))
            update = {**bookkeeping(result), "assessment": result.value}
        update["policy_rule_id"], update["policy_rule"] = taxonomy.rule_for(update["assessment"].category)
        update["assessment_reused"] = given is not None
        update["precomputed_assessment"] = None
        return update

    return assess_risk
