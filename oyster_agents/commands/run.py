"""``oyster run QUERY``: run the constructive-safety graph on one query."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from oyster_agents.commands._common import add_config_options, config_from_args, read_query


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``run``."""
    parser = sub.add_parser("run", help="answer one query with the constructive-safety graph")
    parser.add_argument("query", help="the user's message, or - to read it from standard input")
    parser.add_argument("--json", action="store_true", help="print the full trace as JSON")
    parser.add_argument("--history", metavar="FILE", help="JSON list of prior turns [{role, content}, ...]")
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="show each stage and a summary on standard error (default: on when stderr is a terminal)",
    )
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate input, build the graph, run it, print the answer or the trace."""
    from oyster_agents.graphs.constructive import build_graph, recursion_limit
    from oyster_agents.schemas.query import validate_query
    from oyster_agents.telemetry import configure_from_config

    config = config_from_args(args)
    query = validate_query(read_query(args.query), config.loop.max_query_chars)
    history = read_history(args.history, config.loop.max_query_chars) if args.history else []
    tracing = configure_from_config(config.telemetry)  # --trace / telemetry.exporter; None when off
    show = sys.stderr.isatty() if args.progress is None else args.progress
    run_config = {"recursion_limit": recursion_limit(config)}
    try:
        if show:
            result = _run_with_progress(config, {"query": query, "history": history}, run_config)
        else:
            graph = build_graph(config)
            result = graph.invoke({"query": query, "history": history}, config=run_config)
    finally:
        if tracing is not None:
            tracing.shutdown()  # flush: the console tree is printed, OTLP batches are sent
    if args.json:
        json.dump(result["trace"], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(result["answer"])
    return 0


def _run_with_progress(config: Any, payload: dict[str, Any], run_config: dict[str, Any]) -> dict[str, Any]:
    """Run the graph while drawing its stages on standard error; returns the graph's output."""
    from oyster_agents.backends.default_model import default_model_ready
    from oyster_agents.commands._progress import RunProgress
    from oyster_agents.errors import OysterError
    from oyster_agents.graphs.constructive import build_graph

    with RunProgress(header=_header(config)) as view:
        if _uses_default_model(config) and not default_model_ready():
            with view.stage("convert the embedded model (one time)"):
                from transformers.utils import logging as hf_logging

                from oyster_agents.backends.default_model import default_model_path

                hf_logging.disable_progress_bar()  # this stage's line replaces the loader's bars
                default_model_path()
        graph = build_graph(config)
        result: dict[str, Any] = {}
        for mode, data in graph.stream(payload, config=run_config, stream_mode=["tasks", "custom", "values"]):
            if mode == "values":
                result = data
            else:
                view.handle(mode, data)
        if "trace" not in result:
            raise OysterError("the run ended without an answer")
        view.finish(result["trace"])
    return result


def _uses_default_model(config: Any) -> bool:
    from oyster_agents.config import Role

    return any(config.role(r).backend == "hf" and config.role(r).model == "default" for r in Role)


def _header(config: Any) -> str:
    """What runs: the default role's model and, when one is set, the settings profile."""
    from oyster_agents.config import Role

    role = config.role(Role.RESPONDER)
    profile = getattr(config, "profile", None)
    model = "embedded SmolLM2-135M" if role.backend == "hf" and role.model == "default" else role.model
    parts = [f"oyster run · {model} ({role.backend})", f"{config.loop.candidates} strategies",
             f"up to {config.loop.max_steps} steps"]
    if profile:
        parts.append(f"profile {profile}")
    return " · ".join(parts)


def read_history(path: str, max_chars: int) -> list:
    """The turns of a ``--history`` file: a JSON list of ``{role, content}``, cleaned and limited like the query.

    Raises:
        InputError: unreadable, not UTF-8, not JSON within the limits, or not a list of turns.
    """
    from oyster_agents import _safe_load
    from oyster_agents._records import TooLargeError, read_text
    from oyster_agents.errors import InputError
    from oyster_agents.schemas.query import validate_history

    try:
        value = _safe_load.loads_json(read_text(path, max_bytes=_safe_load.MAX_RECORD_BYTES))
    except OSError as exc:
        raise InputError(f"cannot read history file {path}: {exc.strerror}") from None
    except TooLargeError as exc:
        raise InputError(f"history file {path} is {exc.message}") from None
    except _safe_load.ReadError as exc:
        raise InputError(f"history file {path}: {exc.message}") from None
    try:
        return validate_history(value, max_chars)
    except InputError as exc:
        raise InputError(f"history file {path}: {exc}") from None
