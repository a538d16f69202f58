"""Evaluation: constructive score, over-refusal (XSTest), jailbreak robustness (Strata-Sword), GSM8K.

Public API::

    from oyster_agents.eval import load_suite, parse_target, run_eval, Suite
    items = {Suite.XSTEST: load_suite(Suite.XSTEST, "data/xstest_prompts.csv")}
    run_eval(items, [parse_target("graph")], "runs/eval", config=OysterConfig())

Modules: ``run`` (answer, judge, resume), ``records`` (rows and ``items.jsonl``), ``loaders``,
``targets``, ``judge``, ``scores`` / ``summaries`` / ``rates`` / ``comparison`` (the metrics),
``stats`` (intervals) and the ``report`` package.
"""

from __future__ import annotations

from oyster_agents.eval import gsm8k, loaders, records, rules, scores, stats, string_match, targets
from oyster_agents._moved import moved_names
from oyster_agents.eval.comparison import compare
from oyster_agents.eval.loaders import load_suite, select
from oyster_agents.eval.records import EvalItem, ItemRecord, Suite, read_records
from oyster_agents.eval.report import build_report
from oyster_agents.eval.rules import load_rules
from oyster_agents.eval.run import EvalRun, run_eval
from oyster_agents.eval.summaries import summarize
from oyster_agents.eval.targets import parse_target

__all__ = [
    "EvalItem",
    "EvalRun",
    "ItemRecord",
    "Suite",
    "build_report",
    "compare",
    "load_rules",
    "load_suite",
    "parse_target",
    "read_records",
    "run_eval",
    "select",
    "summarize",
]

# Names the package root exported before; import them from their modules.
__getattr__ = moved_names(__name__, {
    **{name: scores for name in ("BETAS", "HEADLINE_BETA", "PAPER_BETAS")},
    **{name: stats for name in ("Estimate", "bootstrap_mean")},
    **{name: records for name in ("Protocol", "RefusalJudgment", "RefusalLabel", "Verdicts")},
    **{name: loaders for name in ("load_constructive", "load_gsm8k", "load_strata_sword", "load_xstest")},
    "RuleSet": rules,
    "TargetSpec": targets,
    "extract_answer": gsm8k,
    "string_match_refusal": string_match,
})
