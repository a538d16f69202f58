"""``oyster serve``: an OpenAI-compatible endpoint for the guarded model of the config."""

from __future__ import annotations

import argparse
import os

from oyster_agents.commands._common import add_config_options, config_from_args


HELP = "serve the guarded model as an OpenAI-compatible API (POST /v1/chat/completions)"
DESCRIPTION = (
    "Point any OpenAI client's base URL at http://HOST:PORT/v1. Benign turns go straight to the "
    "responder model of the config; risky turns are answered by the constructive-safety graph. "
    "Set OYSTER_API_KEYS=key1,key2 to require 'Authorization: Bearer <key>'. "
    "Each reply carries the trace id in the x-oyster-trace-id header. On SIGINT or SIGTERM the server "
    "stops accepting requests and finishes those in flight (--shutdown-timeout) before it exits."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``serve``."""
    parser = sub.add_parser("serve", help=HELP, description=DESCRIPTION)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--model-name", default="oyster", help="model id clients see (default 'oyster')")
    parser.add_argument("--trace-file", metavar="FILE", help="append each graph-route trace to this JSONL file")
    parser.add_argument("--max-concurrency", type=int, default=8, metavar="N",
                        help="requests answered at once; more get HTTP 429 (default 8)")
    parser.add_argument("--max-body-bytes", type=int, default=1_000_000, metavar="N",
                        help="largest request body accepted; larger get HTTP 413 (default 1000000)")
    parser.add_argument("--shutdown-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="on SIGINT/SIGTERM, wait this long for requests in flight (default 60)")
    routing = parser.add_argument_group("routing (which turns count as low risk and go straight to the model)")
    routing.add_argument("--max-level", choices=["R0", "R1", "R2"], default="R0", help="highest risk level (default R0)")
    routing.add_argument("--max-severity", type=int, choices=range(5), default=1, metavar="0-4",
                         help="highest severity (default 1)")
    routing.add_argument("--max-malicious", type=float, default=0.2, metavar="P",
                         help="highest malicious posterior (default 0.2)")
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the guard from the config and serve it until interrupted (in-flight requests finish)."""
    from pathlib import Path

    from oyster_agents.backends import make_models
    from oyster_agents.config import Role
    from oyster_agents.errors import ConfigError, InputError
    from oyster_agents.guard import ConstructiveGuard, RouteRule

    try:
        import uvicorn

        from oyster_agents.serving.app import KEYS_ENV, ServerSettings, create_app, keys_from_env
    except ModuleNotFoundError as exc:
        raise ConfigError(f"oyster serve needs {exc.name}: pip install 'oyster-agents[serve]'") from exc
    from oyster_agents.telemetry import configure_from_config

    if args.max_concurrency < 1 or args.max_body_bytes < 1:
        raise InputError("--max-concurrency and --max-body-bytes must be at least 1")
    if not 0.0 <= args.max_malicious <= 1.0:
        raise InputError("--max-malicious must be between 0 and 1")
    rule = RouteRule(max_level=args.max_level, max_severity=args.max_severity, max_malicious=args.max_malicious)
    config = config_from_args(args)
    tracing = configure_from_config(config.telemetry)
    try:
        models = make_models(config)
        guard = ConstructiveGuard(model=models[Role.RESPONDER.value], config=config, models=models, rule=rule)
        settings = ServerSettings(
            model_name=args.model_name,
            api_keys=keys_from_env(os.environ.get(KEYS_ENV)),
            max_body_bytes=args.max_body_bytes,
            max_concurrency=args.max_concurrency,
            trace_file=Path(args.trace_file) if args.trace_file else None,
        )
        server = uvicorn.Server(uvicorn.Config(
            create_app(guard, settings), host=args.host, port=args.port, log_config=None,
            timeout_graceful_shutdown=args.shutdown_timeout,
        ))
        server.run()  # returns after SIGINT/SIGTERM once requests in flight are answered
    finally:
        if tracing is not None:
            tracing.shutdown()
    return 0
