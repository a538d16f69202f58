"""``oyster export sft|preference TRACES... --out DIR``: turn run traces into training datasets."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``export``."""
    parser = sub.add_parser(
        "export",
        help="write SFT or preference datasets from run traces",
        description="Turn trace files (JSON Lines from `oyster batch`, or JSON from `oyster run --json`) into a "
        "dataset folder that `datasets.load_dataset(DIR)` reads and TRL trains on as it is.",
    )
    parser.add_argument("kind", choices=["sft", "preference"], help="chat rows (sft) or prompt/chosen/rejected pairs")
    parser.add_argument("traces", nargs="+", metavar="TRACES", help="trace files (.jsonl, .json, .gz), folders of them, or - for stdin")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder to write")
    rows = parser.add_argument_group("rows")
    rows.add_argument("--reasoning", choices=["think", "chain", "none"], default="think",
                      help="reasoning before the answer: prose in <think> (default), the explicit chain, or none")
    rows.add_argument("--min-safety", type=float, default=1.0, metavar="S", help="lowest safety score of a trained answer (default 1.0)")
    rows.add_argument("--min-constructive", type=float, metavar="C", help="lowest constructive score of a trained answer")
    rows.add_argument("--system", metavar="TEXT", help="system prompt put before every conversation")
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
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Export the dataset; report skipped records with file and line on standard error."""
    from pydantic import ValidationError

    from oyster_agents.distill.dataset import DatasetOptions, export_dataset
    from oyster_agents.errors import ConfigError

    if args.chat_template and not args.render_with:
        raise ConfigError("--chat-template is used for rendering: pass --render-with TOKENIZER_DIR too")
    try:
        options = DatasetOptions(
            reasoning=args.reasoning,
            min_safety=args.min_safety,
            min_constructive=args.min_constructive,
            system_prompt=args.system,
            include_history=not args.no_history,
            allow_fallbacks=args.allow_fallbacks,
            max_pairs=args.max_pairs,
            min_margin=args.min_margin,
            dedupe=args.dedupe,
            eval_fraction=args.eval_fraction,
            seed=args.seed,
            render_with=args.render_with,
            chat_template=args.chat_template,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid export options: {problems}") from exc
    report = export_dataset(args.kind, args.traces, args.out, options)
    if not args.quiet:
        for problem in report.problems:
            print(f"oyster export: skipped {problem}", file=sys.stderr)
    stats = report.stats
    skipped = {k: v for k, v in stats.model_dump().items() if k not in ("traces", "used") and v}
    counts = ", ".join(f"{name} {n}" for name, n in report.counts.items())
    print(
        f"{args.kind}: {counts} rows from {stats.used}/{stats.traces} traces in {report.out_dir}"
        + (f"; not used: {skipped}" if skipped else "")
        + (f"; {report.duplicates} duplicates dropped" if report.duplicates else "")
        + (f"; {len(report.problems)} records skipped" if report.problems else "")
    )
    return 0
