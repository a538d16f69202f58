"""Risk assessment: what the risk assessor returns for one query."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator


class RiskLevel(str, Enum):
    """R0 benign profile on a sensitive topic, R1 non-malicious but risky, R2 adversarial."""

    R0 = "R0"
    R1 = "R1"
    R2 = "R2"


class InteractionForm(str, Enum):
    """How the user interacts: states a claim, asks, or orders a task."""

    DECLARATIVE = "declarative"
    INQUIRY = "inquiry"
    DIRECTIVE = "directive"


class UserType(str, Enum):
    """The follower's hidden type in the game."""

    BENIGN = "benign"
    SENSITIVE = "sensitive"
    MALICIOUS = "malicious"


class UserTypePosterior(BaseModel):
    """p(θ | query, history). Normalised on validation; all zeros become uniform.

    NaN, negatives and values above 1 are rejected. ``was_uniform_fallback`` tells whether all-zero
    weights were replaced by the uniform posterior, so the caller can record the fallback.
    """

    model_config = ConfigDict(extra="ignore")
    _uniform_fallback: bool = PrivateAttr(default=False)

    benign: float = Field(ge=0.0, le=1.0, description="Probability the user is benign.")
    sensitive: float = Field(ge=0.0, le=1.0, description="Probability the user is vulnerable or at risk.")
    malicious: float = Field(ge=0.0, le=1.0, description="Probability the user is malicious.")

    @model_validator(mode="after")
    def _normalise(self) -> "UserTypePosterior":
        total = self.benign + self.sensitive + self.malicious
        if total <= 0:
            self.benign = self.sensitive = self.malicious = 1 / 3
            self._uniform_fallback = True
        elif abs(total - 1.0) > 1e-9:
            self.benign, self.sensitive, self.malicious = (
                self.benign / total,
                self.sensitive / total,
                self.malicious / total,
            )
        return self

    @property
    def was_uniform_fallback(self) -> bool:
        """True when the given weights were all zero and the uniform posterior stands in for them."""
        return self._uniform_fallback

    def probability(self, user_type: UserType) -> float:
        """Probability of one user type."""
        return float(getattr(self, user_type.value))

    def items(self) -> list[tuple[UserType, float]]:
        """(type, probability) pairs in a fixed order."""
        return [(t, self.probability(t)) for t in UserType]


class CategoryChoice(BaseModel):
    """Step one of the assessment: the policy category the message falls under."""

    model_config = ConfigDict(extra="ignore")

    category: str = Field(description="Risk category id from the policy, or 'none'.")


class RiskAssessment(BaseModel):
    """Fine-grained risk assessment of one query (METHOD §2)."""

    model_config = ConfigDict(extra="ignore")

    category: str = Field(description="Risk category id from the policy, or 'none'.")
    level: RiskLevel = Field(description="R0 benign profile, R1 non-malicious but risky, R2 adversarial.")
    interaction_form: InteractionForm = Field(description="declarative, inquiry or directive.")
    aggressive: bool = Field(
        default=False, description="True when the request uses role-play, injection or obfuscation."
    )
    severity: int = Field(ge=0, le=4, description="Worst plausible harm, 0 (none) to 4 (critical).")
    user_type_posterior: UserTypePosterior
    user_need: str = Field(description="The user's underlying need, in one or two sentences.")
    risk_intent: str = Field(description="The risk intent in words; empty if there is no risk.")
    adapted_guideline: str = Field(
        description="The category guideline rewritten for this query: the safety boundary."
    )

    @field_validator("category")
    @classmethod
    def _strip_category(cls, value: str) -> str:
        return value.strip() or "none"
