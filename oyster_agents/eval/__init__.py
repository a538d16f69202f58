"""Evaluation: constructive score, over-refusal (XSTest) and jailbreak robustness (Strata-Sword).

Public API::

    from oyster_agents.eval import load_suite, parse_target, run_eval, Suite
    items = {Suite.XSTEST: load_suite(Suite.XSTEST, "data/xstest_prompts.csv")}
    run_eval(items, [parse_target("graph")], "runs/eval", config=OysterConfig())
"""

from __future__ import annotations

from oyster_agents.eval.loaders import load_constructive, load_strata_sword, load_suite, load_xstest, select
from oyster_agents.eval.records import EvalItem, ItemRecord, RefusalJudgment, RefusalLabel, Suite, Verdicts
from oyster_agents.eval.report import build_report
from oyster_agents.eval.runner import EvalRun, read_records, run_eval
from oyster_agents.eval.scoring import BETAS, HEADLINE_BETA, string_match_refusal, summarize
from oyster_agents.eval.targets import TargetSpec, parse_target

__all__ = [
    "BETAS",
    "HEADLINE_BETA",
    "EvalItem",
    "EvalRun",
    "ItemRecord",
    "RefusalJudgment",
    "RefusalLabel",
    "Suite",
    "TargetSpec",
    "Verdicts",
    "build_report",
    "load_constructive",
    "load_strata_sword",
    "load_suite",
    "load_xstest",
    "parse_target",
    "read_records",
    "run_eval",
    "select",
    "string_match_refusal",
    "summarize",
]
