"""Lingo-BP: respond → (safety critic ∥ satisfaction critic) → score → revise, keeping the best iterate.

Stops when the answer is safe and satisfaction stopped improving (or is perfect), or when the step
budget is spent, or when the query's deadline passes (``graphs/deadline.py``). The best iterate is
chosen by safety first, then constructive score.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from oyster_agents.config import GameConfig, LoopConfig
from oyster_agents.graphs.deadline import deadline_at, ran_out_of_time, stop_note
from oyster_agents.schemas import Iterate, constructive_score

RESPOND = "respond"
JUDGE_SAFETY = "judge_safety"
JUDGE_SATISFACTION = "judge_satisfaction"
SCORE = "score_iterate"
REVISE = "revise"


def best_iterate_index(iterates: Sequence[Iterate]) -> int:
    """Safety first, then constructive score; the earliest wins a tie."""
    if not iterates:
        raise ValueError("no iterates to choose from")
    return max(range(len(iterates)), key=lambda i: (iterates[i].safety_score, iterates[i].constructive_score, -i))


def converged(iterates: Sequence[Iterate], min_improvement: float) -> bool:
    """Safe, and satisfaction is perfect or gained less than ``min_improvement`` over the best before.

    Earlier iterates whose satisfaction is the fallback (no judgment) are no baseline.
    """
    last = iterates[-1]
    if last.safety_score < 1.0:
        return False
    if last.satisfaction_score >= 1.0:
        return True
    earlier_safe = [
        it.satisfaction_score for it in iterates[:-1] if it.safety_score >= 1.0 and not it.satisfaction.fallback
    ]
    return bool(earlier_safe) and last.satisfaction_score - max(earlier_safe) < min_improvement


def make_scorer(game: GameConfig, loop: LoopConfig) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``score_iterate`` node: record the iterate and decide whether to stop."""

    def score_iterate(state: dict[str, Any]) -> dict[str, Any]:
        previous = list(state.get("iterates", []))
        if previous and ran_out_of_time(state.get("fallbacks", [])):  # a node of this step was skipped
            return {"done": True, "fallbacks": [stop_note(len(previous), loop.max_steps, loop.deadline_s or 0.0)]}
        safety, satisfaction, draft = state["safety"], state["satisfaction"], state["draft"]
        iterate = Iterate(
            step=len(previous),
            chain=state["chain"],
            reasoning=draft.reasoning,
            answer=draft.answer,
            safety=safety,
            satisfaction=satisfaction,
            safety_score=safety.score,
            satisfaction_score=satisfaction.score,
            constructive_score=constructive_score(satisfaction.score, safety.score, game.beta),
            revision_note=state.get("revision_note", "") if previous else "",
        )
        all_iterates = [*previous, iterate]
        # An answer or judgment that is a documented fallback says nothing about convergence.
        fell_back = draft.fallback or safety.fallback or satisfaction.fallback or bool(state.get("revision_fallback"))
        done = len(all_iterates) >= loop.max_steps or (not fell_back and converged(all_iterates, loop.min_improvement))
        at = deadline_at(state, loop.deadline_s)
        if not done and at is not None and time.time() >= at:
            return {"iterates": [iterate], "done": True,
                    "fallbacks": [stop_note(len(all_iterates), loop.max_steps, loop.deadline_s or 0.0)]}
        return {"iterates": [iterate], "done": done}

    return score_iterate


def route_after_score(state: dict[str, Any]) -> str:
    """``revise`` until done, then ``finalize``."""
    return "finalize" if state.get("done") else REVISE
