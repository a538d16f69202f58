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
    WAIT_FOR_GAME,
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
# Iterate 0 is judged beside the strategy branch; after it, the run waits for the game's choice
# (WAIT_FOR_GAME), and goes on once both are there (GAME_READY).
GAME_READY = "game_ready"

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
