"""The explicit reasoning chain z = (U, R, G, S) that Lingo-BP optimises."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oyster_agents.schemas.strategy import _clean_list


class ReasoningChain(BaseModel):
    """U user need → R risk intent → G adapted guideline → S strategies (two lists)."""

    model_config = ConfigDict(extra="ignore")

    user_need: str = Field(description="U: what the user actually needs.")
    risk_intent: str = Field(description="R: the risk intent, empty when there is none.")
    guideline: str = Field(description="G: the safety guideline adapted to this query.")
    usefulness_strategies: list[str] = Field(description="S: how the answer helps, short phrases.")
    safety_strategies: list[str] = Field(description="S: how the answer stays safe, short phrases.")

    @field_validator("usefulness_strategies", "safety_strategies")
    @classmethod
    def _dedupe(cls, items: list[str]) -> list[str]:
        return _clean_list(items)


class Draft(BaseModel):
    """The responder's forward pass: short reasoning and the answer."""

    reasoning: str = ""
    answer: str
    answer_tokens: int = Field(default=0, ge=0, description="Tokens of the answer alone (the game's cost).")
    fallback: bool = Field(default=False, description="True when the answer is the documented cautious fallback.")
