"""Evaluation: constructive score, over-refusal (XSTest), jailbreak robustness (Strata-Sword), GSM8K.

Public API::

    from oyster_agents.eval import load_suite, parse_target, run_eval, Suite
    items = {Suite.XSTEST: load_suite(Suite.XSTEST, "data/xstest_prompts.csv")}
    run_eval(items, [parse_target("graph")], "runs/eval", config=OysterConfig())
"""

from __future__ import annotations

from oyster_agents.eval.gsm8k import extract_answer
from oyster_agents.eval.loaders import (
    load_constructive,
    load_gsm8k,
    load_strata_sword,
    load_suite,
    load_xstest,
    select,
)
from oyster_agents.eval.records import (
    EvalItem,
    ItemRecord,
    Protocol,
    RefusalJudgment,
    RefusalLabel,
    Suite,
    Verdicts,
)
from oyster_agents.eval.report import build_report
from oyster_agents.eval.rules import RuleSet, load_rules
from oyster_agents.eval.runner import EvalRun, read_records, run_eval
from oyster_agents.eval.scoring import BETAS, HEADLINE_BETA, PAPER_BETAS, compare, string_match_refusal, summarize
from oyster_agents.eval.stats import Estimate, bootstrap_mean
from oyster_agents.eval.targets import TargetSpec, parse_target

__all__ = [
    "BETAS",
    "HEADLINE_BETA",
    "PAPER_BETAS",
    "Estimate",
    "EvalItem",
    "EvalRun",
    "ItemRecord",
    "Protocol",
    "RefusalJudgment",
    "RefusalLabel",
    "RuleSet",
    "Suite",
    "TargetSpec",
    "Verdicts",
    "bootstrap_mean",
    "build_report",
    "compare",
    "extract_answer",
    "load_constructive",
    "load_gsm8k",
    "load_rules",
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
