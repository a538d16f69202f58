"""Simulated follower reactions: how each user type would react to a strategy."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from oyster_agents.schemas.assessment import UserType


class NextAction(str, Enum):
    """What the simulated user does next."""

    SATISFIED = "satisfied"
    REPHRASE = "rephrase"
    ESCALATE = "escalate"
    LEAVE = "leave"
    KEEP_ATTACKING = "keep_attacking"


class ReactionProposal(BaseModel):
    """What the user simulator model writes for one (strategy, user type)."""

    model_config = ConfigDict(extra="ignore")

    satisfaction: float = Field(ge=-1.0, le=1.0, description="How satisfied this user is, -1 to 1.")
    next_action: NextAction
    harm_enabled: float = Field(
        ge=0.0, le=1.0, description="How much real-world harm this user could do with the answer, 0 to 1."
    )
    next_message: str = Field(description="The user's likely next message.")


class SimulatedReaction(ReactionProposal):
    """A reaction tied to its candidate and user type."""

    candidate_index: int = Field(ge=0)
    user_type: UserType
