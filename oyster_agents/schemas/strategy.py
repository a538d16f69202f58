"""Candidate response strategies proposed by the strategist."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StrategyKind(str, Enum):
    """The families a candidate set spans."""

    REFUSAL_WITH_GUIDANCE = "refusal_with_guidance"
    PARTIAL_HELP = "partial_help"
    FULL_HELP_WITH_SAFETY_FRAMING = "full_help_with_safety_framing"
    MISCONCEPTION_CORRECTION = "misconception_correction"


def _clean_list(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        text = " ".join(str(item).split())
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out


class StrategyProposal(BaseModel):
    """What the strategist model writes for one candidate."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(description="A short name for the strategy.")
    description: str = Field(description="What the answer will do, in one or two sentences.")
    # minItems reaches the grammar, so a constrained model cannot emit an empty list and waste a re-ask.
    usefulness_strategies: list[str] = Field(min_length=1, description="Short phrases: how the answer helps.")
    safety_strategies: list[str] = Field(min_length=1, description="Short phrases: how the answer stays safe.")

    @field_validator("usefulness_strategies", "safety_strategies")
    @classmethod
    def _dedupe(cls, items: list[str]) -> list[str]:
        return _clean_list(items)


class CandidateStrategy(StrategyProposal):
    """A proposal with its kind and index, as kept in state and trace."""

    index: int = Field(ge=0)
    kind: StrategyKind
    output_tokens: int = Field(default=0, ge=0, description="Tokens generated to produce this candidate.")
