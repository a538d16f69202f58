"""``oyster run QUERY``: run the constructive-safety graph on one query."""

from __future__ import annotations

import argparse
import json
import sys

from oyster_agents.commands._common import add_config_options, config_from_args, read_query


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``run``."""
    parser = sub.add_parser("run", help="answer one query with the constructive-safety graph")
    parser.add_argument("query", help="the user's message, or - to read it from standard input")
    parser.add_argument("--json", action="store_true", help="print the full trace as JSON")
    parser.add_argument("--history", metavar="FILE", help="JSON list of prior turns [{role, content}, ...]")
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate input, build the graph, run it, print the answer or the trace."""
    from oyster_agents.errors import InputError
    from oyster_agents.graphs.constructive import build_graph, recursion_limit, validate_query
    from oyster_agents.telemetry import configure_from_config

    config = config_from_args(args)
    query = validate_query(read_query(args.query), config.loop.max_query_chars)
    history = []
    if args.history:
        try:
            with open(args.history, encoding="utf-8") as handle:
                history = json.load(handle)
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read history file {args.history}: {exc}") from exc
    tracing = configure_from_config(config.telemetry)  # --trace / telemetry.exporter; None when off
    try:
        graph = build_graph(config)
        result = graph.invoke(
            {"query": query, "history": history}, config={"recursion_limit": recursion_limit(config)}
        )
    finally:
        if tracing is not None:
            tracing.shutdown()  # flush: the console tree is printed, OTLP batches are sent
    if args.json:
        json.dump(result["trace"], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(result["answer"])
    return 0
