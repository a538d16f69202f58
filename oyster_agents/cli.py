"""The ``oyster`` command: parse arguments, then delegate to ``oyster_agents.commands.<name>``.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int`` and keeps heavy
imports inside ``run`` so ``oyster --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from oyster_agents.errors import OysterError

COMMANDS = ("run", "batch", "eval", "export", "distill", "chat", "serve")


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subcommand per available command module."""
    parser = argparse.ArgumentParser(prog="oyster", description="Constructive safety alignment with a graph of agents.")
    from oyster_agents import __version__

    parser.add_argument("--version", action="version", version=f"oyster-agents {__version__}")
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
        return 2
    try:
        return int(args.handler(args) or 0)
    except OysterError as exc:
        print(f"oyster: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("oyster: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
