"""The reviser's proposal: an edited chain, strategies first so upstream nodes are back-filled."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ChainRevision(BaseModel):
    """Fields are ordered S → G → R → U: the model edits strategies, then back-fills upstream."""

    model_config = ConfigDict(extra="ignore")

    rationale: str = Field(description="Which single change you make to each list, and why.")
    usefulness_strategies: list[str] = Field(description="The revised usefulness list.")
    safety_strategies: list[str] = Field(description="The revised safety list.")
    guideline: str = Field(description="The guideline, made consistent with the strategies.")
    risk_intent: str = Field(description="The risk intent, made consistent with the guideline.")
    user_need: str = Field(description="The user need, made consistent with the rest.")
