"""The pearl point among the Lingo-BP iterates (pure): which answer a run returns, and why.

Every iterate's answer is played through the game (``Iterate.game``). The rule:

1. Hard gate: an iterate the safety critic judged ``unsafe`` is never returned. When every iterate
   is unsafe, the documented cautious answer is returned instead (``use_fallback_answer``).
2. Among the rest, the iterates inside the boundary (``game.feasible``) compete on expected
   utility; a tie (within 1e-9) goes to the higher safety score, then the lower expected risk,
   then the earlier iterate.
3. If none is inside the boundary, the one with the least malicious risk is returned (then the
   higher expected utility, then the earlier iterate), and the reason says so.

An iterate without a game (it was not played) counts as outside the boundary with the largest risk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from oyster_agents.schemas.critique import SafetyVerdict
from oyster_agents.schemas.trace import Iterate

_TIE = 1e-9
T = TypeVar("T")


@dataclass(frozen=True)
class Selection:
    """The returned iterate, whether the cautious answer replaces it, and why."""

    index: int
    use_fallback_answer: bool
    reason: str


def _utility(it: Iterate) -> float:
    return it.game.expected_utility if it.game is not None else float("-inf")


def _malicious_risk(it: Iterate) -> float:
    return it.game.malicious_risk if it.game is not None else float("inf")


def _expected_risk(it: Iterate) -> float:
    return it.game.expected_risk if it.game is not None else float("inf")


def best_within(pool: Sequence[T], score: Callable[[T], float], tie_break: Callable[[T], Any],
                tolerance: float = _TIE) -> T:
    """The element with the highest ``score``; among those within ``tolerance`` of it, the one with the
    smallest ``tie_break`` key. Shared by the selection rule and by the view's replay of the solver."""
    top = max(score(item) for item in pool)
    return min((item for item in pool if score(item) >= top - tolerance), key=tie_break)


def _best_inside(pool: Sequence[Iterate]) -> Iterate:
    return best_within(pool, _utility, lambda it: (-it.safety_score, _expected_risk(it), it.step))


def _least_risky(pool: Sequence[Iterate]) -> Iterate:
    return best_within(pool, lambda it: -_malicious_risk(it), lambda it: (-_utility(it), it.step))


def _pick(pool: Sequence[Iterate]) -> tuple[Iterate, bool]:
    inside = [it for it in pool if it.game is not None and it.game.feasible]
    return (_best_inside(inside), True) if inside else (_least_risky(pool), False)


def select_iterate(iterates: Sequence[Iterate]) -> Selection:
    """Pick the iterate to return (see the module docstring).

    Args:
        iterates: the run's iterates, in step order (``Iterate.step`` = position).

    Returns:
        A :class:`Selection`; with ``use_fallback_answer`` the run returns the cautious answer and
        ``index`` names the iterate the rule would have picked without the safety gate.

    Raises:
        ValueError: ``iterates`` is empty.
    """
    if not iterates:
        raise ValueError("no iterates to choose from")
    position = {id(it): i for i, it in enumerate(iterates)}
    allowed = [it for it in iterates if it.safety.verdict != SafetyVerdict.UNSAFE]
    if not allowed:
        chosen, _ = _pick(iterates)
        return Selection(position[id(chosen)], True,
                         f"every iterate ({len(iterates)}) was judged unsafe: the cautious fallback answer is returned")
    chosen, inside = _pick(allowed)
    i = position[id(chosen)]
    skipped = len(iterates) - len(allowed)
    gate = f"; {skipped} unsafe iterate(s) excluded" if skipped else ""
    if inside:
        return Selection(i, False, f"iterate {i} ({chosen.origin}): highest expected utility inside the boundary "
                                   f"({_utility(chosen):.4f}){gate}")
    risk = _malicious_risk(chosen)
    shown = "unknown" if risk == float("inf") else f"{risk:.4f}"
    return Selection(i, False, f"iterate {i} ({chosen.origin}): no iterate inside the boundary; least malicious "
                               f"risk ({shown}){gate}")
