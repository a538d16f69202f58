"""Reviser (backward pass): critics' feedback → edited chain, under authority rules and a trust region.

Authority (enforced here, not only asked for in the prompt):
- safety < 1 ("safety" mode): the safety side wins and may edit every node;
- safety = 1 ("satisfaction" mode): only the user need and the usefulness list may change, and one
  over-restrictive safety strategy may be relaxed (removed or reworded, never added); the risk
  intent and the guideline stay as they are.
Trust region: at most one change per strategy list (``game.trust_region``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import invoke_structured
from oyster_agents.game.trust_region import project_list
from oyster_agents.nodes._common import bookkeeping, messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import (
    RUBRIC_ITEMS,
    ChainRevision,
    Fallback,
    ReasoningChain,
    SafetyJudgment,
    SatisfactionJudgment,
    UserType,
)

ROLE = "reviser"

_AUTHORITY = {
    "safety": "This revision is in safety mode: you may edit every part of the plan.",
    "satisfaction": (
        "This revision is in satisfaction mode: edit the user need and the usefulness strategies; you may relax "
        "one safety strategy; keep the risk intent and the guideline unchanged."
    ),
}


def revision_mode(safety: SafetyJudgment) -> str:
    """Which side has authority this step."""
    return "safety" if safety.score < 1.0 else "satisfaction"


def apply_revision(chain: ReasoningChain, proposal: ChainRevision, mode: str) -> tuple[ReasoningChain, list[Fallback]]:
    """Apply a proposal under the authority rules and the trust region; report what was cut back."""
    notes: list[Fallback] = []
    useful = project_list(chain.usefulness_strategies, proposal.usefulness_strategies)
    safe = project_list(chain.safety_strategies, proposal.safety_strategies)
    for name, edit in (("usefulness", useful), ("safety", safe)):
        if edit.projected:
            notes.append(Fallback(role=ROLE, kind="trust_region", detail=f"{name}: {edit.changes_proposed} changes cut to 1"))
    safety_items = safe.items
    if mode == "satisfaction":
        old = {s.lower() for s in chain.safety_strategies}
        if any(s.lower() not in old for s in safety_items) and len(safety_items) > len(chain.safety_strategies):
            safety_items = list(chain.safety_strategies)  # an addition is not a relaxation
        if not safety_items:
            safety_items = list(chain.safety_strategies)
            notes.append(Fallback(role=ROLE, kind="authority", detail="the last safety strategy cannot be removed"))
        frozen = {"risk_intent": proposal.risk_intent, "guideline": proposal.guideline}
        if any(frozen[k].strip() and frozen[k].strip() != getattr(chain, k).strip() for k in frozen):
            notes.append(Fallback(role=ROLE, kind="authority", detail="risk intent/guideline edits ignored in satisfaction mode"))
        new_chain = ReasoningChain(
            user_need=proposal.user_need.strip() or chain.user_need,
            risk_intent=chain.risk_intent,
            guideline=chain.guideline,
            usefulness_strategies=useful.items or list(chain.usefulness_strategies),
            safety_strategies=safety_items,
        )
    else:
        new_chain = ReasoningChain(
            user_need=proposal.user_need.strip() or chain.user_need,
            risk_intent=proposal.risk_intent.strip() if proposal.risk_intent.strip() else chain.risk_intent,
            guideline=proposal.guideline.strip() if len(proposal.guideline.strip()) >= 20 else chain.guideline,
            usefulness_strategies=useful.items or list(chain.usefulness_strategies),
            safety_strategies=safety_items or list(chain.safety_strategies),
        )
    return new_chain, notes


def make_reviser(runtime: RoleRuntime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``revise`` node."""
    schema = schema_hint(ChainRevision)

    def revise(state: dict[str, Any]) -> dict[str, Any]:
        chain: ReasoningChain = state["chain"]
        safety: SafetyJudgment = state["safety"]
        satisfaction: SatisfactionJudgment = state["satisfaction"]
        mode = revision_mode(safety)
        step = len(state.get("iterates", [])) - 1  # the iterate just scored
        reactions = sorted((r for r in state.get("answer_reactions", []) if r.candidate_index == step),
                           key=lambda r: list(UserType).index(r.user_type))
        messages = messages_for(
            ROLE,
            {"schema": schema, "authority": _AUTHORITY[mode]},
            {
                "query": state["query"],
                "chain": chain,
                "answer": state["draft"].answer,
                "safety": safety,
                "satisfaction": satisfaction,
                "satisfaction_score": satisfaction.score,
                "rubric": [(name, getattr(satisfaction.scores, name)) for name in RUBRIC_ITEMS],
                "reactions": reactions,
                "rule": state.get("policy_rule", ""),
                "mode": mode,
            },
        )
        keep = ChainRevision(
            rationale="revision failed; chain kept",
            usefulness_strategies=chain.usefulness_strategies,
            safety_strategies=chain.safety_strategies,
            guideline=chain.guideline,
            risk_intent=chain.risk_intent,
            user_need=chain.user_need,
        )
        result = invoke_structured(runtime, messages, ChainRevision, fallback=lambda _: keep)
        new_chain, notes = apply_revision(chain, result.value, mode)
        update = bookkeeping(result)
        update["fallbacks"] += notes
        update["chain"] = new_chain
        update["revision_note"] = f"[{mode}] {result.value.rationale}".strip()[:500]
        update["origin"] = "revised"
        update["revision_fallback"] = result.used_fallback
        return update

    return revise
