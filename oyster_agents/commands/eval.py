"""``oyster eval SUITE``: score the graph or a model on the constructive set, XSTest, Strata-Sword or GSM8K.

Exit codes: 0 every item was answered and judged; 1 some items failed (error rows, retried by a
rerun); 2 a usage, configuration or input error.
"""

from __future__ import annotations

import argparse
import sys

from oyster_agents.commands._common import add_config_options, config_from_args

SUITES = ("constructive", "xstest", "strata-sword", "gsm8k", "all")


HELP = "evaluate the graph or models: constructive score, over-refusal, jailbreak robustness, GSM8K"
DESCRIPTION = (
    "Answer every item with each target, judge the answers, and write OUT/items.jsonl (one row per item; "
    "a rerun resumes), OUT/report.md, OUT/report.html, OUT/summary.json and OUT/plots/."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``eval``."""
    parser = sub.add_parser("eval", help=HELP, description=DESCRIPTION)
    parser.add_argument("suite", choices=SUITES,
                        help="which benchmark; 'all' runs constructive, xstest and strata-sword (--data: a folder)")
    parser.add_argument("--data", metavar="PATH",
                        help="benchmark file or folder (constructive defaults to the packaged set)")
    parser.add_argument(
        "--target", action="append", metavar="TARGET",
        help="repeatable, side by side: graph (default) | hf:PATH or PATH (model folder) | openai:BASE_URL:MODEL; "
             "prefix LABEL= to name it, e.g. base=hf:models/base",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created; reused to resume)")
    parser.add_argument("--judge", metavar="CONFIG",
                        help="config file whose safety_critic / satisfaction_critic roles judge (default: --config)")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N items per suite, balanced over strata")
    parser.add_argument("--protocol", choices=("project", "paper"), default="project",
                        help="Strata-Sword judging: project (default; safe/borderline/unsafe against the policy) or "
                             "paper (the benchmark's: classify the risk category, then Safe/Unsafe against its rule; "
                             "needs --rules)")
    parser.add_argument("--rules", metavar="FILE",
                        help="the benchmark's risk rule set for --protocol paper: .jsonl (category, rule) or .xlsx")
    parser.add_argument("--concurrency", type=int, default=4, metavar="N", help="items in flight per target (default 4)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the items, run every target, judge, and write the report."""
    from oyster_agents.config import OysterConfig
    from oyster_agents.errors import InputError
    from oyster_agents.eval.loaders import load_constructive, load_suite, select, suite_files
    from oyster_agents.eval.records import Suite
    from oyster_agents.eval.rules import load_rules
    from oyster_agents.eval.run import run_eval
    from oyster_agents.eval.targets import parse_target
    from oyster_agents.telemetry import configure_from_config

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1")
    if args.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if args.protocol == "paper" and not args.rules:
        raise InputError("--protocol paper needs --rules FILE: the benchmark's risk rule set (.jsonl or .xlsx)")
    if args.rules and args.protocol != "paper":
        raise InputError("--rules is used only with --protocol paper")
    if args.protocol == "paper" and args.suite not in ("strata-sword", "all"):
        raise InputError("--protocol paper applies to strata-sword (or all)")
    rules = load_rules(args.rules) if args.rules else None
    config = config_from_args(args)
    judge_config = OysterConfig.load(args.judge) if args.judge else None
    targets = [parse_target(t) for t in (args.target or ["graph"])]

    suites: dict[Suite, list] = {}
    if args.suite == "all":
        if not args.data:
            raise InputError("'oyster eval all' needs --data: a folder holding the XSTest and Strata-Sword files")
        try:  # the folder may hold a constructive set of its own; else the packaged one
            own = suite_files(Suite.CONSTRUCTIVE, args.data)
        except InputError:
            own = []
        suites[Suite.CONSTRUCTIVE] = load_suite(Suite.CONSTRUCTIVE, args.data) if own else load_constructive()
        for suite in (Suite.XSTEST, Suite.STRATA_SWORD):
            suites[suite] = load_suite(suite, args.data)
    else:
        suite = Suite(args.suite)
        suites[suite] = load_suite(suite, args.data)
    suites = {s: select(items, args.limit) for s, items in suites.items()}

    tracing = configure_from_config(config.telemetry)
    try:
        result = run_eval(
            suites, targets, args.out, config=config, judge_config=judge_config,
            concurrency=args.concurrency, progress=not args.no_progress, rules=rules,
        )
    finally:
        if tracing is not None:
            tracing.shutdown()
    total = sum(len(v) for v in suites.values()) * len(targets)
    print(
        f"{result.written} items evaluated, {result.skipped} already done, {result.errors} errors "
        f"({total} in all) in {result.seconds:.1f} s; report: {result.report}",
        file=sys.stderr,
    )
    return 1 if result.errors else 0
