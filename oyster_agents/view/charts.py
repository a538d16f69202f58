"""Geometry and colours for the view's inline SVG figures; the templates draw them (``charts.html.j2``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from oyster_agents.schemas import Iterate
from oyster_agents.view.game import USER_TYPES, GameView

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
           "#bab0ac", "#e15759", "#86bcb6", "#8cd17d")
TYPE_COLOURS = {"benign": "#59a14f", "sensitive": "#e8a33d", "malicious": "#d1495b"}
_NEUTRAL = (247, 247, 247)
_POSITIVE = (27, 127, 121)
_NEGATIVE = (192, 57, 43)


def candidate_colour(index: int) -> str:
    """A stable colour per candidate index."""
    return PALETTE[index % len(PALETTE)]


def heat_colour(value: float, scale: float) -> str:
    """Diverging fill: teal for positive utility, red for negative, near-white at zero."""
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 else 0.0
    end = _POSITIVE if t >= 0 else _NEGATIVE
    rgb = tuple(round(a + (b - a) * abs(t)) for a, b in zip(_NEUTRAL, end))
    return "#%02x%02x%02x" % rgb


def ink_for(value: float, scale: float) -> str:
    """Text colour that stays readable on ``heat_colour(value, scale)``."""
    return "#ffffff" if scale > 0 and abs(value / scale) > 0.55 else "#1d2433"


@dataclass(frozen=True)
class Axis:
    """A linear map from a data interval onto pixels."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return round(self.start + (value - self.lo) / span * (self.end - self.start), 2)

    def ticks(self, count: int = 5) -> list[float]:
        """Round tick values inside the interval, about ``count`` of them."""
        span = (self.hi - self.lo) or 1.0
        step = next((s for s in (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0) if span / s <= count), span)
        first = math.ceil(self.lo / step - 1e-9)
        return [round(n * step, 6) for n in range(first, math.floor(self.hi / step + 1e-9) + 1)]


@dataclass(frozen=True)
class Point:
    """A marker on the pearl-point plane."""

    x: float
    y: float
    label: str
    index: int
    feasible: bool
    chosen: bool
    kind: str  # "candidate" or "iterate"
    value_x: float
    value_y: float
    caption: str = ""  # the text drawn beside the marker (points on one spot share one caption)


@dataclass(frozen=True)
class Plane:
    """The pearl-point plane: malicious risk (x) against expected utility (y), with the boundary."""

    width: int
    height: int
    x: Axis
    y: Axis
    points: list[Point]
    limit_x: float | None


def heat_scale(game: GameView) -> float:
    """The largest |utility| on the heatmap (its colour scale)."""
    values = [abs(v) for r in game.rows for v in (*r.utilities.values(), r.expected_utility)]
    return max(values, default=0.0) or 1.0


def plane(game: GameView, iterates: Sequence[Iterate], returned: int) -> Plane:
    """Candidates (and, in schema 1.1, the iterates' answers) on the risk–utility plane."""
    width, height, left, right, top, bottom = 520, 300, 56, 16, 16, 40
    utilities = [r.expected_utility for r in game.rows] + [it.game.expected_utility for it in iterates if it.game]
    lo, hi = min(utilities, default=-1.0), max(utilities, default=1.0)
    pad = max(0.1, (hi - lo) * 0.15)
    x = Axis(0.0, 1.0, left, width - right)
    y = Axis(lo - pad, hi + pad, height - bottom, top)
    points = [Point(x(r.malicious_risk), y(r.expected_utility), f"c{r.index}", r.index, r.feasible, r.chosen,
                    "candidate", r.malicious_risk, r.expected_utility) for r in game.rows]
    points += [Point(x(it.game.malicious_risk), y(it.game.expected_utility), f"i{it.step}", n, it.game.feasible,
                     n == returned, "iterate", it.game.malicious_risk, it.game.expected_utility)
               for n, it in enumerate(iterates) if it.game]
    limit_x = x(min(1.0, max(0.0, game.limit))) if game.limit is not None else None
    return Plane(width, height, x, y, _merge_labels(points), limit_x)


def _merge_labels(points: list[Point]) -> list[Point]:
    """Points drawn within a few pixels of each other share one caption ("c1, i0"), so no label hides another."""
    out: list[Point] = []
    for pt in points:
        near = next((n for n, q in enumerate(out) if q.caption and abs(q.x - pt.x) < 10 and abs(q.y - pt.y) < 10), None)
        if near is None:
            out.append(replace(pt, caption=pt.label))
        else:
            out[near] = replace(out[near], caption=f"{out[near].caption}, {pt.label}")
            out.append(pt)
    return out


@dataclass(frozen=True)
class Series:
    """One line of the iterate-score chart."""

    name: str
    colour: str
    points: list[tuple[float, float, float]]  # (px, py, value)

    @property
    def path(self) -> str:
        """The SVG polyline points attribute."""
        return " ".join(f"{px},{py}" for px, py, _ in self.points)


@dataclass(frozen=True)
class ScoreChart:
    """Safety, satisfaction and constructive score per Lingo-BP step."""

    width: int
    height: int
    y: Axis
    xs: list[tuple[float, int]]  # (px, step)
    series: list[Series]
    returned_x: float | None


def score_chart(iterates: Sequence[Iterate], returned: int) -> ScoreChart:
    """Lines across iterates; the returned iterate gets a band."""
    width, height, left, right, top, bottom = 520, 220, 44, 16, 16, 36
    values = [v for it in iterates for v in (it.safety_score, it.satisfaction_score, it.constructive_score)]
    y = Axis(min(-1.0, min(values, default=-1.0)), 1.0, height - bottom, top)
    n = len(iterates)
    xs = [(round(left + (width - left - right) * ((i + 0.5) / max(n, 1)), 2), it.step) for i, it in enumerate(iterates)]
    series = []
    for name, colour, attr in (("safety", "#1b7f79", "safety_score"), ("satisfaction", "#4e79a7", "satisfaction_score"),
                               ("constructive", "#b07aa1", "constructive_score")):
        series.append(Series(name, colour, [(px, y(getattr(it, attr)), getattr(it, attr))
                                            for (px, _), it in zip(xs, iterates)]))
    returned_x = xs[returned][0] if 0 <= returned < len(xs) else None
    return ScoreChart(width, height, y, xs, series, returned_x)


@dataclass(frozen=True)
class Bar:
    """A horizontal bar segment."""

    x: float
    width: float
    colour: str
    label: str
    value: float


def posterior_bar(posterior: dict[str, float], width: int = 520) -> list[Bar]:
    """The user-type posterior as one stacked bar."""
    bars, x = [], 0.0
    for t in USER_TYPES:
        w = round(width * posterior.get(t, 0.0), 2)
        bars.append(Bar(x, w, TYPE_COLOURS[t], t, posterior.get(t, 0.0)))
        x += w
    return bars


def sweep_strip(game: GameView, width: int = 520) -> tuple[Axis, list[Bar], float]:
    """The β axis, one coloured segment per chosen candidate, and the trace's β position."""
    top = game.sweep[-1].end if game.sweep else 10.0
    axis = Axis(0.0, top, 8, width - 8)
    bars = []
    for n, seg in enumerate(game.sweep):
        # a segment covers its grid points; extend it halfway to the next one so the strip has no gaps
        end = game.sweep[n + 1].start if n + 1 < len(game.sweep) else seg.end
        x0, x1 = axis(seg.start), axis(end)
        bars.append(Bar(x0, max(1.0, x1 - x0), candidate_colour(seg.chosen), f"c{seg.chosen}", seg.chosen))
    return axis, bars, axis(min(game.beta, top))


def usage_bars(values: dict[str, float], width: int = 160) -> dict[str, float]:
    """Bar widths proportional to each role's value."""
    top = max(values.values(), default=0.0)
    return {k: (round(width * v / top, 2) if top > 0 else 0.0) for k, v in values.items()}
