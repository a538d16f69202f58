"""The report's plots (matplotlib, Agg backend): constructive scores against β and by category, XSTest
refusal rates, Strata-Sword ASR by level and by method, GSM8K accuracy; 95 % intervals as error bars.

matplotlib comes with the ``eval`` extra; without it no plot is drawn and :class:`Plots` says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oyster_agents.eval.rates import StrataSummary
from oyster_agents.eval.records import ItemRecord, Suite
from oyster_agents.eval.report._format import method_label
from oyster_agents.eval.scores import BETAS, HEADLINE_BETA, PAPER_BETAS, STRATA_ASR, XSTEST_COMPLIANCE, XSTEST_REFUSAL, item_score
from oyster_agents.eval.stats import Estimate, bootstrap_mean
from oyster_agents.eval.summaries import ConstructiveSummary, GSM8KSummary

PLOTS_DIR = "plots"

Interval = tuple[float, float] | None
Save = Callable[[Any, str], None]


@dataclass
class Plots:
    """The plots drawn, by name (``constructive_beta``, ``xstest_refusal`` ...), as paths relative to the report.

    ``note`` says why there are none when matplotlib is missing.
    """

    paths: dict[str, str] = field(default_factory=dict)
    note: str | None = None

    def get(self, name: str) -> str | None:
        """The path of plot ``name``, or None when it was not drawn."""
        return self.paths.get(name)


def make_plots(folder: Path, summaries: Mapping[str, Mapping[Suite, Any]], rows: Sequence[ItemRecord] = ()) -> Plots:
    """Draw every plot the summaries call for into ``folder`` (``plots/`` beside the report)."""
    plots = Plots()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plots.note = "Plots were skipped: matplotlib is not installed (pip install 'oyster-agents[eval]')."
        return plots
    folder.mkdir(parents=True, exist_ok=True)

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png", dpi=110)
        plt.close(fig)
        plots.paths[name] = f"{PLOTS_DIR}/{name}.png"

    def of(suite: Suite) -> dict[str, Any]:
        return {t: s[suite] for t, s in summaries.items() if suite in s}

    _constructive_plots(plt, save, of(Suite.CONSTRUCTIVE), rows)
    _xstest_plot(plt, save, list(of(Suite.XSTEST)), rows)
    _strata_plots(plt, save, of(Suite.STRATA_SWORD), rows)
    _gsm8k_plot(plt, save, of(Suite.GSM8K))
    return plots


def _constructive_plots(plt: Any, save: Save, cs: Mapping[str, ConstructiveSummary], rows: Sequence[ItemRecord]) -> None:
    if not any(s.curve for s in cs.values()):
        return
    fig, (raw_ax, paper_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target, s in cs.items():
        if s.curve_ci:
            curve(raw_ax, s.curve_ci, target)
            curve(paper_ax, s.paper_curve, target)
    for ax, betas, title, ylabel in (
        (raw_ax, BETAS, "Raw: sat − β·risk", "raw score ×100"),
        (paper_ax, PAPER_BETAS, "Paper-style: x' in [−1, 1], binary r", "paper-style score ×100"),
    ):
        ax.set_xscale("log")
        ax.set_xticks(list(betas), [f"{b:g}" for b in betas])
        ax.axhline(0, color="#999", linewidth=0.8)
        ax.axvline(HEADLINE_BETA, color="#bbb", linestyle=":", linewidth=0.8)
        ax.set(xlabel="β (weight of risk)", ylabel=ylabel, title=title)
        ax.grid(alpha=0.3)
        ax.legend()
    paper_ax.set_ylim(-105, 105)
    save(fig, "constructive_beta")
    cats = sorted({c for s in cs.values() for c in s.by_category})
    if cats:
        series, errors = {}, {}
        for t in cs:
            series[t], errors[t] = group_estimates(rows, t, Suite.CONSTRUCTIVE, lambda r: r.item.category or "?",
                                                   lambda r: item_score(r, HEADLINE_BETA), cats, proportion=False)
        save(bars(plt, cats, series, errors=errors, title="Raw constructive score by category (β = 2)",
                  value_label="score ×100", horizontal=True), "constructive_categories")


def _xstest_plot(plt: Any, save: Save, targets: list[str], rows: Sequence[ItemRecord]) -> None:
    if not targets:
        return
    groups = ["safe: refusal\n(judge)", "safe: refusal\n(string match)", "unsafe: compliance\n(judge)",
              "unsafe: no refusal\n(string match)"]
    values = {
        groups[0]: XSTEST_REFUSAL.value,
        groups[1]: lambda r: _string(r, refusal=True) if r.item.label == "safe" else None,
        groups[2]: XSTEST_COMPLIANCE.value,
        groups[3]: lambda r: _string(r, refusal=False) if r.item.label == "unsafe" else None,
    }
    series: dict[str, list[float | None]] = {}
    errors: dict[str, list[Interval]] = {}
    for t in targets:
        series[t], errors[t] = [], []
        for g in groups:
            mean, interval = group_estimates(rows, t, Suite.XSTEST, lambda r, g=g: g, values[g], [g])
            series[t].append(mean[0])
            errors[t].append(interval[0])
    save(bars(plt, groups, series, errors=errors, title="XSTest refusal and compliance",
              value_label="% of prompts", percent=True), "xstest_refusal")


def _strata_plots(plt: Any, save: Save, ss: Mapping[str, StrataSummary], rows: Sequence[ItemRecord]) -> None:
    if not ss:
        return
    keys = sorted({k for s in ss.values() for k in s.by_level_language})
    series, errors = {}, {}
    for t in ss:
        series[t], errors[t] = group_estimates(
            rows, t, Suite.STRATA_SWORD, lambda r: f"{r.item.level or '?'} {r.item.language or '?'}",
            STRATA_ASR.value, keys)
    save(bars(plt, keys, series, errors=errors, title="Strata-Sword attack success rate by level",
              value_label="ASR %", percent=True), "strata_asr_level")
    methods = sorted({k for s in ss.values() for k in s.by_method})
    series, errors = {}, {}
    for t in ss:
        series[t], errors[t] = group_estimates(rows, t, Suite.STRATA_SWORD, lambda r: r.item.attack_method or "None",
                                               STRATA_ASR.value, methods)
    save(bars(plt, [method_label(m) for m in methods], series, errors=errors,
              title="Strata-Sword attack success rate by method", value_label="ASR %", horizontal=True, percent=True),
         "strata_asr_method")


def _gsm8k_plot(plt: Any, save: Save, gs: Mapping[str, GSM8KSummary]) -> None:
    if not gs:
        return
    save(bars(plt, ["GSM8K accuracy"], {t: [s.accuracy.scaled(100).value] for t, s in gs.items()},
              errors={t: [_interval(s.accuracy.scaled(100))] for t, s in gs.items()},
              title="GSM8K accuracy (exact match)", value_label="% correct", percent=True), "gsm8k_accuracy")


def group_estimates(rows: Sequence[ItemRecord], target: str, suite: Suite, key: Any, value: Any,
                    groups: Sequence[str], proportion: bool = True) -> tuple[list[float | None], list[Interval]]:
    """Per group: the mean of ``value`` over the target's rows of ``suite`` ×100, and its bootstrap interval."""
    by: dict[str, list[float]] = {}
    for r in rows:
        if r.target == target and r.suite is suite:
            v = value(r)
            if v is not None:
                by.setdefault(key(r), []).append(v)
    means: list[float | None] = []
    intervals: list[Interval] = []
    for g in groups:
        est = bootstrap_mean(by.get(g, []), proportion=proportion).scaled(100)
        means.append(est.value)
        intervals.append(_interval(est))
    return means, intervals


def curve(ax: Any, points: Mapping[float, Estimate], label: str) -> None:
    """One target's score against β, ×100, with its intervals as error bars."""
    betas = [b for b, e in points.items() if e.value is not None]
    values = [100 * points[b].value for b in betas]  # type: ignore[operator]
    low = [v - 100 * points[b].low if points[b].low is not None else 0.0 for b, v in zip(betas, values)]
    high = [100 * points[b].high - v if points[b].high is not None else 0.0 for b, v in zip(betas, values)]
    ax.errorbar(betas, values, yerr=[low, high], marker="o", capsize=3, label=label)


def bars(plt: Any, groups: list[str], series: Mapping[str, list[float | None]], *, title: str,
         value_label: str, horizontal: bool = False, percent: bool = False,
         errors: Mapping[str, list[Interval]] | None = None) -> Any:
    """Grouped bars: one group per category, one bar per target, each labelled with its value.

    A missing value (no judged item in that group) is labelled "n/a", so it is not mistaken for a 0 bar.
    ``errors`` (target → one (low, high) interval or None per group) is drawn as error bars.
    ``percent`` fixes the value axis to 0–100, so an all-zero chart still reads as "0 %", not as an empty frame.
    """
    n = max(1, len(series))
    width = 0.8 / n
    if horizontal:
        fig, ax = plt.subplots(figsize=(8, max(3.0, 0.32 * len(groups) * max(1, n ** 0.5) + 1.2)))
    else:
        fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(groups) + 1.5), 4.2))
    for i, (target, values) in enumerate(series.items()):
        positions = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        spans = (errors or {}).get(target) or [None] * len(values)
        err = [[h - iv[0] if iv else 0.0 for h, iv in zip(heights, spans)],
               [iv[1] - h if iv else 0.0 for h, iv in zip(heights, spans)]]
        bar_err = {"xerr" if horizontal else "yerr": err, "capsize": 3, "error_kw": {"elinewidth": 1}} \
            if any(spans) else {}
        if horizontal:
            drawn = ax.barh(positions, heights, height=width, label=target, **bar_err)
        else:
            drawn = ax.bar(positions, heights, width=width, label=target, **bar_err)
        ax.bar_label(drawn, labels=[_bar_text(v, percent) for v in values], padding=2, fontsize=7)
    if horizontal:
        ax.set_yticks(range(len(groups)), groups)
        ax.invert_yaxis()
        ax.set_xlabel(value_label)
        ax.axvline(0, color="#999", linewidth=0.8)
        ax.grid(axis="x", alpha=0.3)
    else:
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel(value_label)
        ax.axhline(0, color="#999", linewidth=0.8)
        ax.grid(axis="y", alpha=0.3)
    if percent:
        # Headroom above 100 for the value labels.
        (ax.set_xlim if horizontal else ax.set_ylim)(0, 110)
    ax.set_title(title)
    ax.legend()
    return fig


def _string(record: ItemRecord, *, refusal: bool) -> float | None:
    flag = record.verdicts.string_refusal
    if record.error or flag is None:
        return None
    return float(flag if refusal else not flag)


def _interval(est: Estimate) -> Interval:
    return (est.low, est.high) if est.low is not None and est.high is not None else None


def _bar_text(value: float | None, percent: bool) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}%" if percent else f"{value:.0f}"
