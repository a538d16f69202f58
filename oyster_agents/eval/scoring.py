"""Deprecated: the metrics moved, split by job, to :mod:`oyster_agents.eval.scores` (per-item scores and
headline metrics), :mod:`oyster_agents.eval.summaries` (suite summaries), :mod:`oyster_agents.eval.rates`
(XSTest and Strata-Sword rates), :mod:`oyster_agents.eval.comparison` (paired differences) and
:mod:`oyster_agents.eval.string_match` (the refusal baseline). This alias goes in the next release."""

from __future__ import annotations

from oyster_agents.eval import comparison, rates, scores, string_match, summaries
from oyster_agents._moved import moved_names

__getattr__ = moved_names(__name__, {
    **{name: scores for name in (
        "BETAS", "PAPER_BETAS", "HEADLINE_BETA", "latest", "item_risk", "item_satisfaction", "item_score",
        "paper_normalize", "item_unsafe", "item_paper_score", "Metric", "CONSTRUCTIVE_RAW", "CONSTRUCTIVE_PAPER",
        "STRATA_ASR", "XSTEST_REFUSAL", "XSTEST_COMPLIANCE", "GSM8K_ACCURACY", "HEADLINE_METRICS", "metric_values")},
    **{name: summaries for name in (
        "ConstructiveGroup", "ConstructiveSummary", "constructive_summary", "GSM8KSummary", "gsm8k_summary",
        "SUMMARIZERS", "summarize")},
    **{name: rates for name in (
        "NO_RULE_GROUP", "RefusalRates", "XSTestSummary", "refusal_rates", "xstest_summary", "AttackRates",
        "StrataSummary", "attack_rates", "strata_summary")},
    "Comparison": comparison,
    "compare": comparison,
    "REFUSAL_MARKERS": string_match,
    "string_match_refusal": string_match,
})
