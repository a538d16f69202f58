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
    from oyster_agents.graphs.constructive import build_graph, recursion_limit, validate_query
    from oyster_agents.telemetry import configure_from_config

    config = config_from_args(args)
    query = validate_query(read_query(args.query), config.loop.max_query_chars)
    history = read_history(args.history, config.loop.max_query_chars) if args.history else []
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


def read_history(path: str, max_chars: int) -> list:
    """The turns of a ``--history`` file: a JSON list of ``{role, content}``, cleaned and limited like the query.

    Raises:
        InputError: unreadable, not UTF-8, not JSON within the limits, or not a list of turns.
    """
    from pathlib import Path

    from oyster_agents._safe_load import MAX_RECORD_BYTES, ReadError, loads_json
    from oyster_agents.errors import InputError
    from oyster_agents.graphs.constructive import validate_history

    try:
        file = Path(path)
        size = file.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise InputError(f"history file {path} is {size:,} bytes, over the limit of {MAX_RECORD_BYTES:,}")
        value = loads_json(file.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read history file {path}: {exc.strerror}") from None
    except ReadError as exc:
        raise InputError(f"history file {path}: {exc.message}") from None
    try:
        return validate_history(value, max_chars)
    except InputError as exc:
        raise InputError(f"history file {path}: {exc}") from None
