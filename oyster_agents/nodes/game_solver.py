"""Game solver node: expected utility under the posterior, pearl point inside the boundary (no LLM)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from oyster_agents.config import GameConfig
from oyster_agents.game.cost import answer_cost, plan_answer_tokens
from oyster_agents.game.utility import CandidateScore, GameSolution, Reaction, solve
from oyster_agents.nodes._common import prior_reaction
from oyster_agents.schemas import (
    Fallback,
    ReasoningChain,
    RiskAssessment,
    ScoredCandidate,
    SimulatedReaction,
    UserType,
)

ROLE = "game_solver"


def reaction_row(reactions: Iterable[SimulatedReaction]) -> dict[UserType, Reaction]:
    """One row of the solver's table: the simulated reactions (one per user type) as it sees them."""
    return {r.user_type: Reaction(r.satisfaction, r.harm_enabled, r.next_action) for r in reactions}


def play(
    table: Sequence[dict[UserType, Reaction]], assessment: RiskAssessment, game: GameConfig, costs: Sequence[float]
) -> GameSolution:
    """The game on a table of reactions (one row per strategy or answer): the assessment's posterior
    and boundary (level limit, tightened by severity), ``game``'s weights, and each row's cost."""
    posterior = {t: assessment.user_type_posterior.probability(t) for t in UserType}
    limit = game.boundary[assessment.level.value]
    return solve(table, posterior, severity=assessment.severity, limit=limit,
                 alpha=game.alpha, beta=game.beta, gamma=game.gamma, costs=costs)


def solver_numbers(score: CandidateScore) -> dict[str, Any]:
    """The solver's numbers for one row, as a trace records them (``ScoredCandidate``, ``IterateGame``)."""
    return {
        "utility_by_type": score.utility_by_type, "risk_by_type": score.risk_by_type,
        "expected_utility": score.expected_utility, "expected_risk": score.expected_risk,
        "cost": score.cost, "feasible": score.feasible,
    }


def make_game_solver(game: GameConfig) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Build the ``solve_game`` node: scores candidates, picks s*, seeds the chain."""

    def solve_game(state: dict[str, Any]) -> dict[str, Any]:
        assessment: RiskAssessment = state["assessment"]
        candidates = sorted(state["candidates"], key=lambda c: c.index)
        by_key: dict[tuple[int, UserType], SimulatedReaction] = {
            (r.candidate_index, r.user_type): r for r in state.get("reactions", [])
        }
        fallbacks: list[Fallback] = []
        table = []
        for cand in candidates:
            for user_type in UserType:
                if (cand.index, user_type) not in by_key:  # a branch produced nothing: use the documented prior
                    prior = prior_reaction(user_type, cand.kind)
                    by_key[(cand.index, user_type)] = SimulatedReaction(
                        **prior.model_dump(), candidate_index=cand.index, user_type=user_type
                    )
                    fallbacks.append(Fallback(role=ROLE, kind="missing_reaction", detail=f"{cand.index}/{user_type.value}"))
            table.append(reaction_row([by_key[(cand.index, t)] for t in UserType]))
        # A plan is priced by the answer it is expected to produce, not by the tokens spent writing it.
        costs = [
            answer_cost(plan_answer_tokens(c.usefulness_strategies, c.safety_strategies), game.cost_token_scale)
            for c in candidates
        ]
        solution = play(table, assessment, game, costs)
        scored = [
            ScoredCandidate(candidate=cand, reactions=[by_key[(cand.index, t)] for t in UserType], **solver_numbers(score))
            for cand, score in zip(candidates, solution.scores)
        ]
        chosen = candidates[solution.chosen]
        if assessment.user_type_posterior.was_uniform_fallback or solution.uniform_posterior:
            fallbacks.append(Fallback(role=ROLE, kind="uniform_posterior", detail="all-zero posterior; uniform used"))
        if not solution.feasible:
            fallbacks.append(Fallback(role=ROLE, kind="boundary_infeasible", detail="least-risk candidate chosen"))
        chain = ReasoningChain(  # U, R, G from the assessment; S from the chosen strategy
            user_need=assessment.user_need, risk_intent=assessment.risk_intent, guideline=assessment.adapted_guideline,
            usefulness_strategies=chosen.usefulness_strategies, safety_strategies=chosen.safety_strategies,
        )
        return {
            "scored": scored,
            "chosen": chosen.index,
            "boundary_feasible": solution.feasible,
            "chain": chain,
            "fallbacks": fallbacks,
        }

    return solve_game
