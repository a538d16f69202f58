"""Human review of high-risk answers: pause before the answer leaves, resume with a decision.

With ``build_graph(..., approve_high_risk=True)`` a ``review`` node runs between the Lingo-BP loop
and ``finalize``. When the assessment is high risk (level R2 or severity ≥ 3 by default) it calls
LangGraph's ``interrupt()`` with a JSON payload (query, proposed answer, assessment, scores); the
run pauses on its thread until the caller resumes it with ``Command(resume=decision)``:

- ``"approve"`` (or ``True``): send the proposed answer;
- ``{"action": "replace", "answer": "..."}``: send the reviewer's answer instead;
- ``"reject"`` (or ``False``): send the documented safe fallback answer.

The decision is kept in the trace (``trace["review"]``); a rejection is also recorded as a fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, Field, ValidationError, model_validator

from oyster_agents.errors import InputError
from oyster_agents.game.selection import select_iterate
from oyster_agents.prompts import fallback_data
from oyster_agents.schemas import Fallback, RiskAssessment, RiskLevel, RunTrace

REVIEW = "review"
INTERRUPT_TYPE = "oyster.review"

ReviewRule = Callable[[RiskAssessment], bool]


class ReviewDecision(BaseModel):
    """What the human reviewer decided."""

    action: Literal["approve", "replace", "reject"]
    answer: str | None = Field(default=None, description="The replacement answer (action 'replace').")
    note: str = Field(default="", description="Optional reviewer comment, kept in the trace.")

    @model_validator(mode="after")
    def _replacement_has_text(self) -> "ReviewDecision":
        if self.action == "replace" and not (self.answer or "").strip():
            raise ValueError("action 'replace' needs a non-empty 'answer'")
        return self

    @classmethod
    def parse(cls, value: Any) -> "ReviewDecision":
        """Accept ``"approve"``/``"reject"``, booleans, or a mapping with ``action``.

        Raises:
            InputError: the resume value is none of these.
        """
        if isinstance(value, bool):
            return cls(action="approve" if value else "reject")
        if isinstance(value, str):
            value = {"action": value.strip().lower()}
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            raise InputError(
                f"cannot read the review decision {value!r}: resume with Command(resume='approve'), "
                "Command(resume='reject') or Command(resume={'action': 'replace', 'answer': '...'})"
            ) from exc


def is_high_risk(assessment: RiskAssessment) -> bool:
    """The default review rule: adversarial (R2) or severity 3 or more."""
    return assessment.level == RiskLevel.R2 or assessment.severity >= 3


def make_review_node(rule: ReviewRule = is_high_risk) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``review`` node: interrupt for a human decision when ``rule(assessment)`` holds."""

    def review(state: dict[str, Any]) -> dict[str, Any]:
        assessment: RiskAssessment = state["assessment"]
        if not rule(assessment):
            return {"review": None}
        iterates = state["iterates"]
        selection = select_iterate(iterates)
        best = iterates[selection.index]
        proposed = str(fallback_data()["answer"]).strip() if selection.use_fallback_answer else best.answer
        decision = interrupt({
            "type": INTERRUPT_TYPE,
            "query": state["query"],
            "answer": proposed,
            "assessment": {
                "category": assessment.category,
                "level": assessment.level.value,
                "severity": assessment.severity,
                "user_type_posterior": assessment.user_type_posterior.model_dump(),
                "risk_intent": assessment.risk_intent,
            },
            "safety_score": best.safety_score,
            "satisfaction_score": best.satisfaction_score,
            "options": ["approve", "replace", "reject"],
        })
        return {"review": ReviewDecision.parse(decision).model_dump()}

    return review


def apply_review(trace: RunTrace, review: dict[str, Any] | None) -> RunTrace:
    """The trace with the reviewer's decision applied to its answer (unchanged without a review)."""
    if not review:
        return trace
    decision = ReviewDecision.model_validate(review)
    record = {**decision.model_dump(), "proposed_answer": trace.answer}
    answer = trace.answer
    fallbacks = list(trace.fallbacks)
    if decision.action == "replace":
        answer = decision.answer or answer
    elif decision.action == "reject":
        answer = str(fallback_data()["answer"]).strip()
        fallbacks.append(Fallback(role="reviewer", kind="review_rejected", detail="safe fallback answer sent"))
    return trace.model_copy(update={"answer": answer, "fallbacks": fallbacks, "review": record})
