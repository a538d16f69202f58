"""What the reasoning writer reads and writes when ``oyster export`` turns a run into a training target."""

from __future__ import annotations

from pydantic import BaseModel, Field

from oyster_agents.schemas.trace import ChatTurn


class ReasoningSource(BaseModel):
    """The run's own material for one answer's reasoning: the chain it followed and the responder's notes."""

    query: str
    history: list[ChatTurn] = Field(default_factory=list)
    user_need: str = ""
    risk_intent: str = ""
    guideline: str = ""
    usefulness_strategies: list[str] = Field(default_factory=list)
    safety_strategies: list[str] = Field(default_factory=list)
    responder_reasoning: str = ""
    answer: str


class WrittenReasoning(BaseModel):
    """Reasoning as the assistant would think it before answering."""

    reasoning: str = Field(
        description="First-person thinking in plain prose, 3 to 6 sentences: what the person needs, what could "
        "go wrong, where the line is, and how the answer will help within it. Own words only."
    )
