"""The ``oyster`` command: parse arguments, then delegate to ``oyster_agents.commands.<name>``.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int`` and keeps heavy
imports inside ``run`` so ``oyster --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from oyster_agents.errors import ConfigError, InputError, OysterError

COMMANDS = ("run", "batch", "eval", "export", "distill", "chat", "serve", "view")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CODES = """exit codes:
  0    success
  1    runtime failure: a backend down or failing, malformed model output, items that failed
  2    usage or input error: bad arguments, configuration, query or input file
  3    oyster batch stopped after too many failures in a row
  130  interrupted (Ctrl-C)"""
LOG_LEVELS = ("debug", "info", "warning", "error")


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subcommand per available command module."""
    parser = argparse.ArgumentParser(
        prog="oyster", description="Constructive safety alignment with a graph of agents.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from oyster_agents._version import package_version

    parser.add_argument("--version", action="version", version=f"oyster-agents {package_version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output on stderr (-v: info, -vv: debug)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="log level on stderr (default: warning)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"oyster_agents.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"oyster_agents.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oyster`` console script. Returns the exit code."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    setup_logging(args.log_level, args.verbose)
    try:
        return int(args.handler(args) or 0)
    except (ConfigError, InputError) as exc:
        print(f"oyster: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OysterError as exc:  # the backend, the model's output or a deadline: a run-time failure
        print(f"oyster: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("oyster: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def setup_logging(level: str | None, verbose: int = 0) -> None:
    """Standard ``logging`` on stderr: ``level`` if given, else warning, info (``-v``) or debug (``-vv``)."""
    if level is None:
        level = ("warning", "info", "debug")[min(verbose, 2)]
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("oyster_agents").setLevel(level.upper())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
