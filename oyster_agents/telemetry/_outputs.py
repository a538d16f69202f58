"""What the nodes produced, as span data: risk and strategy attributes, critic evaluation events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from oyster_agents.telemetry import _attributes as A
from oyster_agents.telemetry._scope import RunScope


def record_output(span: trace.Span, scope: RunScope | None, output: Any, content: bool) -> None:
    """Turn a node's state update into attributes (risk, strategy) and evaluation events (critics)."""
    if not isinstance(output, Mapping):
        return
    fallbacks = output.get("fallbacks")
    if fallbacks:
        span.set_attribute(A.FALLBACKS, [str(getattr(f, "kind", f)) for f in fallbacks])
    targets = [span] if scope is None else [span, scope.root]
    assessment = output.get("assessment")
    if assessment is not None:
        attrs = _risk_attributes(assessment, content)
        for target in targets:
            target.set_attributes(attrs)
    if "chosen" in output and output.get("scored"):
        attrs = _strategy_attributes(output, content)
        for target in targets:
            target.set_attributes(attrs)
    # Judgments are events on the step span: the iterate is what the critics evaluate.
    holder = scope.step if scope is not None and scope.step is not None else span
    safety = output.get("safety")
    if safety is not None:
        holder.add_event(A.EVALUATION_EVENT, _safety_event(safety, content))
    satisfaction = output.get("satisfaction")
    if satisfaction is not None:
        holder.add_event(A.EVALUATION_EVENT, _satisfaction_event(satisfaction, content))


def _risk_attributes(assessment: Any, content: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        A.RISK_CATEGORY: str(assessment.category),
        A.RISK_LEVEL: _value(assessment.level),
        A.RISK_SEVERITY: int(assessment.severity),
        A.RISK_INTERACTION_FORM: _value(assessment.interaction_form),
        A.RISK_AGGRESSIVE: bool(assessment.aggressive),
    }
    for user_type, probability in assessment.user_type_posterior.items():
        attrs[A.RISK_POSTERIOR_PREFIX + _value(user_type)] = round(float(probability), 4)
    if content:
        attrs[A.RISK_USER_NEED] = str(assessment.user_need)
        attrs[A.RISK_INTENT] = str(assessment.risk_intent)
    return attrs


def _strategy_attributes(output: Mapping[str, Any], content: bool) -> dict[str, Any]:
    chosen = int(output["chosen"])
    attrs: dict[str, Any] = {A.STRATEGY_CHOSEN: chosen, A.STRATEGY_CANDIDATES: len(output["scored"])}
    if "boundary_feasible" in output:
        attrs[A.STRATEGY_BOUNDARY_FEASIBLE] = bool(output["boundary_feasible"])
    for scored in output["scored"]:
        candidate = scored.candidate
        if candidate.index == chosen:
            attrs[A.STRATEGY_KIND] = _value(candidate.kind)
            attrs[A.STRATEGY_EXPECTED_UTILITY] = round(float(scored.expected_utility), 6)
            if content:
                attrs[A.STRATEGY_TITLE] = str(candidate.title)
    return attrs


def _safety_event(judgment: Any, content: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        A.EVALUATION_NAME: "safety",
        A.EVALUATION_SCORE_VALUE: float(judgment.score),
        A.EVALUATION_SCORE_LABEL: _value(judgment.verdict),
    }
    if content:
        attrs[A.EVALUATION_EXPLANATION] = str(judgment.explanation)
    return attrs


def _satisfaction_event(judgment: Any, content: bool) -> dict[str, Any]:
    score = float(judgment.score)
    attrs: dict[str, Any] = {
        A.EVALUATION_NAME: "satisfaction",
        A.EVALUATION_SCORE_VALUE: score,
        A.EVALUATION_SCORE_LABEL: "positive" if score > 0 else "negative" if score < 0 else "neutral",
    }
    for item, value in judgment.scores.model_dump().items():
        attrs[A.RUBRIC_PREFIX + item] = int(value)
    if content and judgment.fixes:
        attrs[A.EVALUATION_EXPLANATION] = " ".join(str(fix) for fix in judgment.fixes)
    return attrs


def record_iterate(step: trace.Span, output: Mapping[str, Any]) -> None:
    iterates = output.get("iterates") or []
    if iterates:
        it = iterates[-1]
        step.set_attributes({
            A.STEP_INDEX: int(it.step),
            A.ITERATE_SAFETY: float(it.safety_score),
            A.ITERATE_SATISFACTION: float(it.satisfaction_score),
            A.ITERATE_CONSTRUCTIVE: float(it.constructive_score),
        })
    if "done" in output:
        step.set_attribute(A.STEP_DONE, bool(output["done"]))




def _value(item: Any) -> str:
    return str(getattr(item, "value", item))
