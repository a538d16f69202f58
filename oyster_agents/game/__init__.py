"""The leader-follower game, in plain deterministic Python (no LLM)."""

from oyster_agents.game.cost import answer_cost, plan_answer_tokens
from oyster_agents.game.trust_region import ListEdit, project_list
from oyster_agents.game.utility import CandidateScore, GameSolution, boundary_limit, retention, solve

__all__ = [
    "CandidateScore",
    "GameSolution",
    "ListEdit",
    "answer_cost",
    "boundary_limit",
    "plan_answer_tokens",
    "project_list",
    "retention",
    "solve",
]
