"""The leader-follower game, in plain deterministic Python (no LLM)."""

from oyster_agents.game.trust_region import ListEdit, project_list
from oyster_agents.game.utility import CandidateScore, GameSolution, retention, solve

__all__ = ["CandidateScore", "GameSolution", "ListEdit", "project_list", "retention", "solve"]
