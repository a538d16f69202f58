"""One module per agent; each exports ``make_<role>(...)`` returning a node function."""

from oyster_agents.nodes.chain_extractor import make_chain_extractor
from oyster_agents.nodes.game_solver import make_game_solver
from oyster_agents.nodes.reviser import make_reviser
from oyster_agents.nodes.responder import make_responder, make_unguided_responder
from oyster_agents.nodes.risk_assessor import make_risk_assessor
from oyster_agents.nodes.safety_critic import make_safety_critic
from oyster_agents.nodes.satisfaction_critic import make_satisfaction_critic
from oyster_agents.nodes.strategist import make_strategist
from oyster_agents.nodes.user_simulator import make_answer_simulator, make_user_simulator

__all__ = [
    "make_answer_simulator",
    "make_chain_extractor",
    "make_game_solver",
    "make_responder",
    "make_reviser",
    "make_risk_assessor",
    "make_safety_critic",
    "make_satisfaction_critic",
    "make_strategist",
    "make_unguided_responder",
    "make_user_simulator",
]
