"""The constructive graph's node names, and which agent role runs in each."""

from __future__ import annotations

from oyster_agents.config import Role
from oyster_agents.graphs.lingo_bp import (
    CRITIQUE,
    JUDGE_SAFETY,
    JUDGE_SATISFACTION,
    REACT,
    RESPOND,
    REVISE,
    SCORE,
)

PREPARE = "prepare"
ASSESS = "assess_risk"
PROPOSE = "propose_strategy"
COLLECT = "collect_candidates"
SIMULATE = "simulate_user"
SOLVE = "solve_game"
ANSWER_UNGUIDED = "answer_unguided"
EXTRACT = "extract_chain"
FINALIZE = "finalize"

NODE_ROLES: dict[str, str] = {
    ASSESS: Role.RISK_ASSESSOR.value,
    PROPOSE: Role.STRATEGIST.value,
    SIMULATE: Role.USER_SIMULATOR.value,
    SOLVE: "game_solver",
    RESPOND: Role.RESPONDER.value,
    ANSWER_UNGUIDED: Role.RESPONDER.value,
    EXTRACT: Role.REVISER.value,
    REACT: Role.USER_SIMULATOR.value,
    JUDGE_SAFETY: Role.SAFETY_CRITIC.value,
    JUDGE_SATISFACTION: Role.SATISFACTION_CRITIC.value,
    REVISE: Role.REVISER.value,
}

# The nodes of one Lingo-BP step (one step span); SCORE ends it.
STEP_NODES = (REVISE, RESPOND, CRITIQUE, JUDGE_SAFETY, JUDGE_SATISFACTION, REACT, SCORE)
# Lingo-BP nodes that are skipped, not failed, when the deadline passes once an iterate exists.
SKIPPABLE_NODES = (REVISE, RESPOND, JUDGE_SAFETY, JUDGE_SATISFACTION, REACT)
