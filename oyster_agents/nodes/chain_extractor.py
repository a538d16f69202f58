"""Chain extractor: the model's own answer (iterate 0) → the reasoning chain z = (U, R, G, S) it implies.

Lingo-BP then refines what the model would have said. The call is the reviser's (the role that reads
and edits chains); a failed extraction falls back to the assessment's need, intent and guideline with
the documented strategy lists (``prompts/fallbacks.yaml``), recorded in the trace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import invoke_structured
from oyster_agents.nodes._common import bookkeeping, fallback_data, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import Fallback, ReasoningChain, RiskAssessment

PROMPT = "chain_extractor"
MIN_GUIDELINE_CHARS = 20


def assessed_chain(assessment: RiskAssessment) -> ReasoningChain:
    """The fallback chain: U, R, G from the assessment, S from ``fallbacks.yaml``."""
    lists = fallback_data()["extracted_chain"]
    return ReasoningChain(
        user_need=assessment.user_need,
        risk_intent=assessment.risk_intent,
        guideline=assessment.adapted_guideline,
        usefulness_strategies=list(lists["usefulness_strategies"]),
        safety_strategies=list(lists["safety_strategies"]),
    )


def make_chain_extractor(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``extract_chain`` node: reads ``draft`` (the unguided answer), writes ``initial_chain``."""
    system = {"schema": schema_hint(ReasoningChain)}

    def extract_chain(state: dict[str, Any]) -> dict[str, Any]:
        assessment: RiskAssessment = state["assessment"]
        messages = messages_for(
            PROMPT, system, {"query": state["query"], "history": state.get("history", []),
                             "answer": state["draft"].answer}
        )
        result = invoke_structured(runtime, messages, ReasoningChain, fallback=lambda _: assessed_chain(assessment))
        chain = result.value
        update = bookkeeping(result)
        if len(chain.guideline.strip()) < MIN_GUIDELINE_CHARS:
            update["fallbacks"].append(Fallback(role=runtime.role, kind="policy_guideline",
                                                detail="extracted chain had no guideline; the adapted guideline used"))
            chain = chain.model_copy(update={"guideline": assessment.adapted_guideline})
        update["initial_chain"] = chain
        return update

    return extract_chain
