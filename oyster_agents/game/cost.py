"""Cost(s): what an answer costs, as its tokens over a configured scale.

An answer's cost is known once it is written: ``answer_cost(answer_tokens, scale)``. A plan (a
candidate strategy, before any answer exists) is priced by the answer it is expected to produce,
not by what it cost to write the plan: ``plan_answer_tokens`` expects one short paragraph per
strategy item, since the responder turns each item into a part of the answer.
"""

from __future__ import annotations

import math

from oyster_agents.errors import GameInputError

TOKENS_PER_STRATEGY = 60
"""Expected answer tokens per strategy item of a plan (one short paragraph each)."""


def answer_cost(tokens: int, scale: int) -> float:
    """Cost of an answer of ``tokens`` tokens: ``tokens / scale`` (≥ 0)."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise GameInputError(f"answer tokens must be an integer ≥ 0, got {tokens!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise GameInputError(f"cost token scale must be a finite number > 0, got {scale!r}")
    return tokens / scale


def plan_answer_tokens(usefulness: list[str], safety: list[str], per_item: int = TOKENS_PER_STRATEGY) -> int:
    """Expected length in tokens of the answer a plan produces: ``per_item`` per strategy item."""
    return per_item * (len(usefulness) + len(safety))
