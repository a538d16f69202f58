"""``oyster export sft|preference TRACES... --out DIR``: turn run traces into training datasets.

This layer supplies what the pure ``distill`` package must not build itself: the model that writes
the reasoning, the policy's rule texts for the leak check, and the evaluation prompts for the
contamination check (read at run time from ``--eval-data`` or ``$OYSTER_EVAL_DATA``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from oyster_agents.commands._common import add_model_options, config_from_args

HELP = "write SFT or preference datasets from run traces"
DESCRIPTION = ("Turn trace files (JSON Lines from `oyster batch`, or JSON from `oyster run --json`) into a "
               "dataset folder that `datasets.load_dataset(DIR)` reads and TRL trains on as it is.")
EVAL_DATA_ENV = "OYSTER_EVAL_DATA"
# Flags whose dest is the DatasetOptions field they set, as they are.
_OPTION_FLAGS = (
    "reasoning", "reasoning_from", "min_safety", "min_constructive", "system_prompt", "profile", "allow_fallbacks",
    "max_pairs", "min_margin", "dedupe", "eval_fraction", "seed", "render_with", "chat_template", "drop_contaminated",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``export``."""
    parser = sub.add_parser("export", help=HELP, description=DESCRIPTION)
    parser.add_argument("kind", choices=["sft", "preference"], help="chat rows (sft) or prompt/chosen/rejected pairs")
    parser.add_argument("traces", nargs="+", metavar="TRACES", help="trace files (.jsonl, .json, .gz), folders of them, or - for stdin")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder to write")
    rows = parser.add_argument_group("rows")
    rows.add_argument("--reasoning", choices=["think", "chain", "none"], default="think",
                      help="reasoning before the answer: prose in <think> (default), the explicit chain, or none")
    rows.add_argument("--reasoning-from", choices=["model", "template"], default="model",
                      help="think prose: rewritten by a model from the run's own reasoning (default; the model is the "
                      "responder role of --config/--model) or filled from a template (no model needed)")
    rows.add_argument("--profile", choices=["include", "exclude"], default="exclude",
                      help="traces made with a user profile: left out (default, counted) or kept with the profile in a system turn")
    rows.add_argument("--no-leak-check", action="store_true",
                      help="keep rule text in targets (by default sentences that reproduce the policy are removed)")
    rows.add_argument("--min-safety", type=float, default=1.0, metavar="S", help="lowest safety score of a trained answer (default 1.0)")
    rows.add_argument("--min-constructive", type=float, metavar="C", help="lowest constructive score of a trained answer")
    rows.add_argument("--system", dest="system_prompt", metavar="TEXT", help="system prompt put before every conversation")
    rows.add_argument("--no-history", action="store_true", help="leave earlier turns of multi-turn traces out")
    rows.add_argument("--allow-fallbacks", action="store_true", help="also use traces whose answer or judgments were fallback values")
    rows.add_argument("--max-pairs", type=int, default=4, metavar="N", help="preference: most pairs per trace (default 4)")
    rows.add_argument("--min-margin", type=float, default=0.0, metavar="M",
                      help="preference: least constructive-score gap when both answers are equally safe")
    data = parser.add_argument_group("dataset")
    data.add_argument("--dedupe", choices=["exact", "prompt", "none"], default="exact",
                      help="drop repeated rows (exact, default), keep the best trace per prompt (prompt), or keep all")
    data.add_argument("--eval-fraction", type=float, default=0.1, metavar="F", help="share of prompts held out in test.jsonl (default 0.1)")
    data.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    data.add_argument("--render-with", metavar="TOKENIZER_DIR",
                      help="render rows to text with this tokenizer's chat template (prompt/completion, prompt/chosen/rejected)")
    data.add_argument("--chat-template", metavar="FILE", help="Jinja chat template used instead of the tokenizer's when rendering")
    data.add_argument("--mix", action="append", default=[], metavar="FILE:SHARE",
                      help="sft: add general chat rows (GSM8K-style question/answer JSONL or chat rows) making up SHARE "
                      "of the rows, drawn with --seed; repeatable")
    data.add_argument("--eval-data", metavar="DIR",
                      help=f"folder of evaluation benchmarks that no training query may match (default ${EVAL_DATA_ENV}); "
                      "the packaged constructive set is always checked")
    data.add_argument("--drop-contaminated", action="store_true",
                      help="drop rows whose query is an evaluation prompt (default: refuse to export)")
    add_model_options(
        parser.add_argument_group("reasoning writer (--reasoning-from model)"),
        config="YAML or JSON config: the responder role's model writes the reasoning",
        backend="backend of the writer model",
        model="writer model: a local folder, 'default', or a served name",
        max_tokens="max new tokens per written reasoning",
        overrides="override any setting of the config",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.set_defaults(max_steps=None, candidates=None, trace=None)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Export the dataset; report skipped records with file and line on standard error."""
    from pydantic import ValidationError

    from oyster_agents.distill.dataset import DatasetOptions, export_dataset
    from oyster_agents.distill.mix import MixSource
    from oyster_agents.errors import ConfigError

    if args.chat_template and not args.render_with:
        raise ConfigError("--chat-template is used for rendering: pass --render-with TOKENIZER_DIR too")
    if Path(args.out).exists() and not Path(args.out).is_dir():  # before any model is loaded
        from oyster_agents.errors import InputError

        raise InputError(f"{args.out} exists and is not a folder; choose a dataset folder for --out (it is left as it is)")
    mix = [MixSource.parse(spec) for spec in args.mix]
    try:
        options = DatasetOptions(
            **{name: getattr(args, name) for name in _OPTION_FLAGS},
            include_history=not args.no_history,
            leak_check=not args.no_leak_check,
            mix=mix,
        )
    except ValidationError as exc:
        from oyster_agents._records import describe_errors

        raise ConfigError(f"invalid export options: {describe_errors(exc, root='')}") from exc
    config = config_from_args(args)
    writer, writer_model = None, None
    if options.reasoning_from == "model" and options.reasoning == "think":
        writer, writer_model = _writer(config)
    prompts, not_checked = eval_prompts(args.eval_data or os.environ.get(EVAL_DATA_ENV))
    report = export_dataset(
        args.kind, args.traces, args.out, options, writer=writer, writer_model=writer_model,
        policy_rules=policy_rules(config), eval_prompts=prompts, eval_not_checked=not_checked,
    )
    if not args.quiet:
        for problem in report.problems:
            print(f"oyster export: skipped {problem}", file=sys.stderr)
        for suite, why in sorted(not_checked.items()):
            print(f"oyster export: not checked against {suite}: {why}", file=sys.stderr)
    stats = report.stats
    skipped = {k: v for k, v in stats.model_dump().items()
               if k in ("below_threshold", "fallback", "empty_answer", "no_pair", "profile_excluded", "leak_dropped") and v}
    counts = ", ".join(f"{name} {n}" for name, n in report.counts.items())
    mixed = sum(m.rows for m in report.mix)
    print(
        f"{args.kind}: {counts} rows from {stats.used}/{stats.traces} traces in {report.out_dir}"
        + (f" (+{mixed} mixed general rows)" if mixed else "")
        + (f"; not used: {skipped}" if skipped else "")
        + (f"; {report.duplicates} duplicates dropped" if report.duplicates else "")
        + (f"; {stats.leak_rewritten} targets rid of rule text" if stats.leak_rewritten else "")
        + (f"; {report.contamination.dropped} contaminated rows dropped" if report.contamination.dropped else "")
        + (f"; reasoning written {stats.reasoning_written}, template fallback {stats.reasoning_fallback}"
           if report.writer_model else "")
        + (f"; {len(report.problems)} records skipped" if report.problems else "")
    )
    return 0


def _writer(config: Any) -> tuple[Any, str]:
    """The reasoning writer on the responder role's model (transport retries, re-asks and fallback apply)."""
    from oyster_agents.backends import make_chat_model
    from oyster_agents.backends.calls import RoleRuntime
    from oyster_agents.config import Role
    from oyster_agents.nodes.reasoning_writer import ROLE, make_reasoning_writer

    role_config = config.role(Role.RESPONDER)
    runtime = RoleRuntime(role=ROLE, model=make_chat_model(role_config), config=role_config)
    return make_reasoning_writer(runtime), runtime.model_name


def policy_rules(config: Any) -> dict[str, list[str]]:
    """The policy's rule texts by category id (``""``: the default guideline, for every category)."""
    from oyster_agents.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(config.policy_path)
    rules: dict[str, list[str]] = {"": list(taxonomy.default_guideline)}
    for category in taxonomy.categories:
        rules[category.id] = list(category.guideline)
    return rules


def eval_prompts(folder: str | None) -> tuple[list[Any], dict[str, str]]:
    """Evaluation prompts to keep out of training: the packaged constructive set, and XSTest,
    Strata-Sword and the GSM8K test split found under ``folder``; plus the suites not read, with why."""
    from oyster_agents.distill.contamination import EvalPrompt
    from oyster_agents.errors import InputError
    from oyster_agents.eval.loaders import load_constructive, load_strata_sword, load_xstest

    prompts = [EvalPrompt(suite="constructive", id=i.id, text=i.query) for i in load_constructive()]
    suites = ("xstest", "strata-sword", "gsm8k-test")
    if not folder:
        why = f"no evaluation data folder (pass --eval-data DIR or set ${EVAL_DATA_ENV})"
        return prompts, {suite: why for suite in suites}
    not_checked: dict[str, str] = {}
    for suite, load in (("xstest", load_xstest), ("strata-sword", load_strata_sword)):
        try:
            prompts += [EvalPrompt(suite=suite, id=i.id, text=i.query) for i in load(folder)]
        except InputError as exc:
            not_checked[suite] = str(exc)
    gsm8k = sorted(p for p in Path(folder).rglob("test.jsonl") if "gsm8k" in p.parent.name.lower())
    if not gsm8k:
        not_checked["gsm8k-test"] = f"no gsm8k*/test.jsonl under {folder}"
    for file in gsm8k:
        prompts += _gsm8k_questions(file)
    return prompts, not_checked


def _gsm8k_questions(file: Path) -> list[Any]:
    from oyster_agents._records import read_objects
    from oyster_agents.distill.contamination import EvalPrompt
    from oyster_agents.errors import InputError

    prompts = []
    for number, row in read_objects(file, expected="a JSON object with a 'question'"):
        question = row.get("question")
        if not isinstance(question, str):
            raise InputError(f"{file}:{number}: expected a JSON object with a 'question'; got {sorted(row)}")
        prompts.append(EvalPrompt(suite="gsm8k-test", id=f"gsm8k-test-{number}", text=question))
    return prompts
