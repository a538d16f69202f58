"""Lingo-BP: respond → (safety critic ∥ satisfaction critic ∥ 3 answer reactions) → score → revise.

Each iterate's actual answer is played through the game: the user simulator's three reactions, the
solver's expected utility, malicious risk and feasibility (``Iterate.game``). The loop stops when the
answer is safe, inside the boundary, and satisfaction stopped improving (or is perfect), when the step budget is spent, or
when the query's deadline passes (``graphs/deadline.py``). The answer returned is chosen by
``game.selection.select_iterate``: the highest expected utility inside the boundary, never an
iterate the safety critic judged unsafe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from oyster_agents.config import GameConfig, LoopConfig
from oyster_agents.game.selection import select_iterate
from oyster_agents.graphs.deadline import deadline_at, ran_out_of_time, stop_note
from oyster_agents.nodes.game_solver import play, reaction_row, solver_numbers
from oyster_agents.nodes.user_simulator import answer_prior
from oyster_agents.schemas import (
    Fallback,
    Iterate,
    IterateGame,
    RiskAssessment,
    SimulatedReaction,
    UserType,
    constructive_score,
)

RESPOND = "respond"
CRITIQUE = "critique"
REACT = "react_to_answer"
JUDGE_SAFETY = "judge_safety"
JUDGE_SATISFACTION = "judge_satisfaction"
SCORE = "score_iterate"
REVISE = "revise"
LOOP_ROLE = "lingo_bp"


def best_iterate_index(iterates: Sequence[Iterate]) -> int:
    """The iterate the run returns (``select_iterate``'s index)."""
    return select_iterate(iterates).index


def converged(iterates: Sequence[Iterate], min_improvement: float) -> bool:
    """Safe, inside the game's boundary, and satisfaction is perfect or gained less than
    ``min_improvement`` over the best before.

    An answer the game puts outside the boundary (its malicious risk over the limit) is never the end
    of the loop, however the critics judged it: the leader's constraint comes first. Earlier iterates
    whose satisfaction is the fallback (no judgment) are no baseline.
    """
    last = iterates[-1]
    if last.safety_score < 1.0:
        return False
    if last.game is not None and not last.game.feasible:
        return False
    if last.satisfaction_score >= 1.0:
        return True
    earlier_safe = [
        it.satisfaction_score for it in iterates[:-1] if it.safety_score >= 1.0 and not it.satisfaction.fallback
    ]
    return bool(earlier_safe) and last.satisfaction_score - max(earlier_safe) < min_improvement


def play_answer(
    reactions: Sequence[SimulatedReaction], assessment: RiskAssessment, answer_tokens: int, game: GameConfig
) -> tuple[IterateGame, float]:
    """The game on one answer: the solver's numbers from the three reactions (one per user type),
    with Cost = answer tokens / ``game.cost_token_scale``. Returns the game and the limit in force."""
    by_type = {r.user_type: r for r in reactions}
    solution = play([reaction_row(reactions)], assessment, game, [answer_tokens / game.cost_token_scale])
    score = solution.scores[0]
    played = IterateGame(
        reactions=[by_type[t] for t in UserType], malicious_risk=score.malicious_risk, **solver_numbers(score)
    )
    return played, solution.limit  # the level's limit after severity tightening


def step_reactions(state: dict[str, Any], step: int) -> tuple[list[SimulatedReaction], list[Fallback]]:
    """The three reactions to iterate ``step``'s answer; a missing one is the documented prior."""
    found = {r.user_type: r for r in state.get("answer_reactions", []) if r.candidate_index == step}
    notes = []
    for user_type in UserType:
        if user_type not in found:
            prior = answer_prior(user_type)
            found[user_type] = SimulatedReaction(**prior.model_dump(), candidate_index=step, user_type=user_type)
            notes.append(Fallback(role=LOOP_ROLE, kind="missing_reaction", detail=f"iterate {step}/{user_type.value}"))
    return [found[t] for t in UserType], notes


def make_scorer(game: GameConfig, loop: LoopConfig) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``score_iterate`` node: play the answer through the game, record the iterate and
    decide whether to stop."""

    def score_iterate(state: dict[str, Any]) -> dict[str, Any]:
        previous = list(state.get("iterates", []))
        if previous and ran_out_of_time(state.get("fallbacks", [])):  # a node of this step was skipped
            return {"done": True, "fallbacks": [stop_note(len(previous), loop.max_steps, loop.deadline_s or 0.0)]}
        safety, satisfaction, draft = state["safety"], state["satisfaction"], state["draft"]
        origin = state.get("origin") or "guided"
        step = len(previous)
        reactions, notes = step_reactions(state, step)
        played, limit = play_answer(reactions, state["assessment"], draft.answer_tokens, game)
        iterate = Iterate(
            step=step,
            chain=state["initial_chain"] if origin == "unguided" else state["chain"],
            reasoning=draft.reasoning,
            answer=draft.answer,
            safety=safety,
            satisfaction=satisfaction,
            safety_score=safety.score,
            satisfaction_score=satisfaction.score,
            constructive_score=constructive_score(satisfaction.score, safety.score, game.beta),
            revision_note=state.get("revision_note", "") if origin == "revised" else "",
            origin=origin,
            game=played,
            answer_tokens=draft.answer_tokens,
        )
        all_iterates = [*previous, iterate]
        # An answer or judgment that is a documented fallback says nothing about convergence.
        revision_failed = origin == "revised" and bool(state.get("revision_fallback"))
        fell_back = draft.fallback or safety.fallback or satisfaction.fallback or revision_failed
        settled = len(all_iterates) >= loop.min_steps and not fell_back and converged(all_iterates, loop.min_improvement)
        done = len(all_iterates) >= loop.max_steps or settled
        update: dict[str, Any] = {"iterates": [iterate], "done": done, "boundary_limit": limit, "fallbacks": notes}
        if origin == "unguided":
            update["origin"] = "guided"  # the next answer is written from the game's chosen strategy
        at = deadline_at(state, loop.deadline_s)
        if not done and at is not None and time.time() >= at:
            update["done"] = True
            update["fallbacks"] = [*notes, stop_note(len(all_iterates), loop.max_steps, loop.deadline_s or 0.0)]
        return update

    return score_iterate


def route_after_score(state: dict[str, Any]) -> str:
    """``finalize`` when done; after the unguided iterate 0, ``respond`` from the game's strategy;
    otherwise ``revise``."""
    if state.get("done"):
        return "finalize"
    return RESPOND if state["iterates"][-1].origin == "unguided" else REVISE
