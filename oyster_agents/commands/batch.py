"""``oyster batch IN.jsonl --out OUT.jsonl``: generate traces for many queries, resumably.

Exit codes: 0 every query has a trace; 1 some queries failed (error records) or input lines were
bad; 3 stopped after too many failures in a row; 130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import sys

from oyster_agents.commands._common import add_config_options, config_from_args


HELP = "run many queries (JSONL) concurrently into a resumable JSONL of traces"
DESCRIPTION = (
    "Each input line is a JSON object with 'query' and optionally 'id', 'history' and 'profile'. "
    "Every finished query is appended to OUT at once; rerunning with the same OUT skips the ids it "
    "holds, so an interrupted or killed run resumes where it stopped."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``batch``."""
    parser = sub.add_parser("batch", help=HELP, description=DESCRIPTION)
    parser.add_argument("input", metavar="IN.jsonl", help="queries, one JSON object per line")
    parser.add_argument("--out", required=True, metavar="OUT.jsonl", help="traces and error records, one per line")
    parser.add_argument("--concurrency", type=_positive, default=8, metavar="N",
                        help="queries in flight at once (per worker with --ray); default 8")
    parser.add_argument("--retry-errors", action="store_true", help="run queries whose record in OUT is an error again")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--max-consecutive-failures", type=_non_negative, default=20, metavar="N",
                        help="stop after N failed queries in a row (0: never); default 20")
    parser.add_argument("--no-server-check", action="store_true",
                        help="do not check that OpenAI-compatible endpoints answer before starting")
    parser.add_argument("--wait-for-server", type=_seconds, metavar="SECONDS",
                        help="keep checking the endpoints this long (a server still loading its model)")
    ray = parser.add_argument_group("distributed (Ray)")
    ray.add_argument("--ray", action="store_true", help="shard the queries over Ray workers")
    ray.add_argument("--ray-address", metavar="ADDR",
                     help="Ray cluster to join ('auto' on a cluster node); default: start Ray on this machine")
    ray.add_argument("--workers", type=_positive, metavar="N",
                     help="Ray workers (shards); default: endpoints or cluster CPUs")
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the batch (locally or on Ray), print a summary, return the exit code."""
    from oyster_agents.runner.batch import exit_code, run_batch
    from oyster_agents.runner.options import BatchOptions
    from oyster_agents.telemetry import configure_from_config

    config = config_from_args(args)

    def notify(message: str) -> None:
        print(f"oyster batch: {message}", file=sys.stderr, flush=True)

    options = BatchOptions.build(
        concurrency=args.concurrency,
        progress=not args.no_progress,
        retry_errors=args.retry_errors,
        max_consecutive_failures=args.max_consecutive_failures or None,
        check_servers=not args.no_server_check,
        server_wait_s=args.wait_for_server,
        notify=notify,
    )
    if args.ray:
        from oyster_agents.runner.ray import run_batch_ray

        summary = run_batch_ray(
            args.input, args.out, config=config, address=args.ray_address, workers=args.workers, options=options
        )
    else:
        tracing = configure_from_config(config.telemetry)
        try:
            summary = run_batch(args.input, args.out, config=config, options=options)
        finally:
            if tracing is not None:
                tracing.shutdown()
    notify(summary.describe())
    if summary.aborted:
        notify(summary.aborted)
    return exit_code(summary)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _seconds(text: str) -> float:
    import math

    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, 0 or more, got {text!r}")
    return value
