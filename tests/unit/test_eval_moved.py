"""Eval names that moved still import from their old places for one release, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import warnings

import pytest

# Every public name the old modules had, and where it lives now.
MOVED = {
    "oyster_agents.eval.runner": {
        "ITEMS_FILE": "records", "read_records": "records", "EvalRun": "run", "run_eval": "run",
        "MatchOnlyJudge": "run", "evaluate_item": "run",
    },
    "oyster_agents.eval.scoring": {
        **dict.fromkeys(["BETAS", "PAPER_BETAS", "HEADLINE_BETA", "latest", "item_risk", "item_satisfaction",
                         "item_score", "paper_normalize", "item_unsafe", "item_paper_score", "Metric",
                         "CONSTRUCTIVE_RAW", "CONSTRUCTIVE_PAPER", "STRATA_ASR", "XSTEST_REFUSAL", "XSTEST_COMPLIANCE",
                         "GSM8K_ACCURACY", "HEADLINE_METRICS", "metric_values"], "scores"),
        **dict.fromkeys(["ConstructiveGroup", "ConstructiveSummary", "constructive_summary", "GSM8KSummary",
                         "gsm8k_summary", "SUMMARIZERS", "summarize"], "summaries"),
        **dict.fromkeys(["NO_RULE_GROUP", "RefusalRates", "XSTestSummary", "refusal_rates", "xstest_summary",
                         "AttackRates", "StrataSummary", "attack_rates", "strata_summary"], "rates"),
        "Comparison": "comparison", "compare": "comparison",
        "REFUSAL_MARKERS": "string_match", "string_match_refusal": "string_match",
    },
    "oyster_agents.eval": {
        "BETAS": "scores", "HEADLINE_BETA": "scores", "PAPER_BETAS": "scores", "Estimate": "stats",
        "bootstrap_mean": "stats", "Protocol": "records", "RefusalJudgment": "records", "RefusalLabel": "records",
        "Verdicts": "records", "load_constructive": "loaders", "load_gsm8k": "loaders", "load_strata_sword": "loaders",
        "load_xstest": "loaders", "RuleSet": "rules", "TargetSpec": "targets", "extract_answer": "gsm8k",
        "string_match_refusal": "string_match",
    },
    "oyster_agents.eval.report": {"Interval": "report.plots"},
}
CASES = [(old, name, new) for old, names in MOVED.items() for name, new in names.items()]


@pytest.mark.parametrize(("old", "name", "new"), CASES, ids=[f"{o.rsplit('.', 1)[-1]}.{n}" for o, n, _ in CASES])
def test_a_moved_name_still_imports_and_warns(old, name, new):
    home = importlib.import_module(f"oyster_agents.eval.{new}")
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {home.__name__}\.{name}"):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(home, name)


def test_the_old_import_statement_works():
    with pytest.warns(DeprecationWarning, match="oyster_agents.eval.run.run_eval"):
        from oyster_agents.eval.runner import run_eval
    from oyster_agents.eval.run import run_eval as new

    assert run_eval is new


@pytest.mark.parametrize("old", list(MOVED))
def test_an_unknown_name_is_still_an_attribute_error(old):
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(importlib.import_module(old), "no_such_name")


def test_the_package_root_lists_only_what_users_call():
    import oyster_agents.eval as ev

    assert sorted(ev.__all__) == sorted(["EvalItem", "EvalRun", "ItemRecord", "Suite", "build_report", "compare",
                                         "load_rules", "load_suite", "parse_target", "read_records", "run_eval",
                                         "select", "summarize"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in ev.__all__:
            getattr(ev, name)
    assert caught == []
