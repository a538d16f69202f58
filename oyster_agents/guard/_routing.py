"""Routing: which assessed turns are low risk, the decision that implies, and the cache of decisions per turn."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.messages import AIMessage
from pydantic import BaseModel, ConfigDict, Field

from oyster_agents.schemas import CallRecord, Fallback, RiskAssessment, RiskLevel

DIRECT = "direct"
CONSTRUCTIVE = "constructive"
METADATA_KEY = "oyster"
_LEVEL_RANK = {RiskLevel.R0: 0, RiskLevel.R1: 1, RiskLevel.R2: 2}

M = TypeVar("M", bound=AIMessage)


class RouteRule(BaseModel):
    """Which assessments are low risk, i.e. go straight to the app's model.

    A turn is low risk when all three hold: level at most ``max_level``, severity at most
    ``max_severity`` and the malicious posterior at most ``max_malicious``.
    """

    model_config = ConfigDict(extra="forbid")

    max_level: RiskLevel = RiskLevel.R0
    max_severity: int = Field(default=1, ge=0, le=4)
    max_malicious: float = Field(default=0.2, ge=0.0, le=1.0)

    def is_low_risk(self, assessment: RiskAssessment) -> bool:
        """True when the turn may skip the constructive graph."""
        return (
            _LEVEL_RANK[assessment.level] <= _LEVEL_RANK[self.max_level]
            and assessment.severity <= self.max_severity
            and assessment.user_type_posterior.malicious <= self.max_malicious
        )


@dataclass
class Decision:
    """The assessment of one turn and the route it implies."""

    assessment: RiskAssessment
    low_risk: bool
    cached: bool = False
    calls: list[CallRecord] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)

    @property
    def input_tokens(self) -> int:
        """Prompt tokens the assessment took (0 when it came from the cache)."""
        return sum(c.input_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        """Tokens the assessment generated (0 when it came from the cache)."""
        return sum(c.output_tokens for c in self.calls)

    def metadata(self) -> dict[str, Any]:
        """The ``response_metadata["oyster"]`` entries every reply carries."""
        a = self.assessment
        return {
            "route": DIRECT if self.low_risk else CONSTRUCTIVE,
            "assessment": {
                "category": a.category,
                "level": a.level.value,
                "severity": a.severity,
                "interaction_form": a.interaction_form.value,
                "malicious": round(a.user_type_posterior.malicious, 4),
            },
            "assessment_cached": self.cached,
            "assessment_usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "assessment_fallbacks": [f.kind for f in self.fallbacks],
        }

    def tag(self, message: M) -> M:
        """``message`` with :meth:`metadata` under ``response_metadata["oyster"]``."""
        return message.model_copy(update={"response_metadata": {**message.response_metadata,
                                                                METADATA_KEY: self.metadata()}})

    def graph_input(self) -> dict[str, Any]:
        """The assessment as the graph's ``precomputed_assessment`` input: the graph takes it instead of
        asking its model again (same prompt, same answer). Its calls count in the run's usage (a
        decision from the cache has none: they were counted when it was made)."""
        return {"assessment": self.assessment, "usage": list(self.calls), "fallbacks": list(self.fallbacks)}


class DecisionCache:
    """The last decisions, by turn (least recently used dropped first), shared by a guard and its copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Decision] = OrderedDict()

    def get(self, key: str, rule: RouteRule) -> Decision | None:
        """The decision remembered for the turn, routed by ``rule``; ``None`` when there is none."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            self._entries.move_to_end(key)
        # The cache is shared with copies (bind_tools, model_copy) whose rule may differ: route anew.
        return Decision(hit.assessment, rule.is_low_risk(hit.assessment), cached=True, fallbacks=hit.fallbacks)

    def put(self, key: str, decision: Decision, size: int) -> None:
        """Remember ``decision``, keeping at most ``size`` entries."""
        with self._lock:
            self._entries[key] = decision
            while len(self._entries) > size:
                self._entries.popitem(last=False)
