"""The game on an iterate's actual answer (``graphs/lingo_bp.py``): reactions in, solver numbers out."""

from __future__ import annotations

import pytest

from oyster_agents.config import GameConfig
from oyster_agents.graphs.lingo_bp import play_answer, step_reactions
from oyster_agents.schemas import RiskAssessment, SimulatedReaction, UserType

from . import _scripts as s

ASSESSMENT = RiskAssessment.model_validate_json(s.assessment(level="R1", severity=3))


def reaction(user_type: UserType, satisfaction: float, harm: float, action: str, step: int = 0) -> SimulatedReaction:
    return SimulatedReaction(satisfaction=satisfaction, harm_enabled=harm, next_action=action, next_message="",
                             candidate_index=step, user_type=user_type)


def test_the_answer_game_drops_users_who_leave_and_prices_the_answer():
    reactions = [reaction(UserType.BENIGN, 0.5, 0.0, "leave"), reaction(UserType.SENSITIVE, 0.5, 0.1, "satisfied"),
                 reaction(UserType.MALICIOUS, 1.0, 0.25, "satisfied")]
    played, limit = play_answer(reactions, ASSESSMENT, 200, GameConfig(gamma=0.5))
    # cost 200 / 1000 = 0.2, γ·cost = 0.1; benign left (0), sensitive 0.75, the attacker never counts
    assert played.utility_by_type == pytest.approx({"benign": -0.1, "sensitive": 0.75 - 0.2 - 0.1,
                                                    "malicious": -0.5 - 0.1})
    assert played.expected_utility == pytest.approx(0.3 * -0.1 + 0.6 * 0.45 + 0.1 * -0.6)
    assert (played.malicious_risk, played.cost) == (0.25, 0.2)
    assert limit == pytest.approx(0.3) and played.feasible  # R1's 0.4 tightened for severity 3
    assert [r.user_type for r in played.reactions] == list(UserType)


def test_missing_reactions_to_an_answer_are_the_prior_and_recorded():
    found, notes = step_reactions({}, 2)
    assert [r.user_type for r in found] == list(UserType) and all(r.candidate_index == 2 for r in found)
    assert [(n.role, n.kind, n.detail) for n in notes] == [
        ("lingo_bp", "missing_reaction", f"iterate 2/{t}") for t in ("benign", "sensitive", "malicious")]
    given = [reaction(UserType.MALICIOUS, -1.0, 0.0, "keep_attacking", step=1)]
    found, notes = step_reactions({"answer_reactions": given}, 1)
    assert found[2] is given[0] and len(notes) == 2
