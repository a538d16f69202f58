"""Cell text for the report: numbers, percentages, intervals, clipped quotes."""

from __future__ import annotations

from typing import Any

from oyster_agents.eval.stats import Estimate


def num(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals; ``-`` when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal; ``-`` when there is none."""
    return "-" if value is None else f"{100 * value:.1f}%"


def avg(values: list[float]) -> float | None:
    """The mean, or None for no values."""
    return sum(values) / len(values) if values else None


def group_cell(group: Any) -> str:
    """A constructive group's raw and paper-style β = 2 scores with its size."""
    return "-" if group is None else f"{group.score:.1f} / {group.paper_score:.1f} (n={group.n})"


def ci(est: Estimate | None, scale: float = 1.0, *, signed: bool = False, digits: int = 1) -> str:
    """``value [low, high]`` in display units; ``-`` when there is no value."""
    if est is None or est.value is None:
        return "-"
    fmt = f"{{:{'+' if signed else ''}.{digits}f}}"
    text = fmt.format(est.value * scale)
    if est.low is not None and est.high is not None:
        text += f" [{fmt.format(est.low * scale)}, {fmt.format(est.high * scale)}]"
    return text


def clip(text: str, limit: int) -> str:
    """The text on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def method_label(method: str) -> str:
    """Strata-Sword marks its plain (level 1) requests with the method "None"; say what that means."""
    return "None (plain request)" if method == "None" else method
