"""Options shared by commands that build the graph: config file, per-role model flags."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from oyster_agents.errors import InputError


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--backend``, ``--model``, ``--base-url``, ``--set`` and loop flags."""
    group = parser.add_argument_group("configuration")
    add_model_options(
        group,
        config="YAML or JSON config file (see README)",
        backend="backend for every role without its own entry",
        model="model for the default role: a local folder, 'default', or a served name",
        max_tokens="max new tokens per call (default role), at least 1",
        overrides="override any setting, e.g. --set game.beta=3 --set roles.safety_critic.model=judge",
    )
    group.add_argument("--max-steps", type=int, metavar="N", help="Lingo-BP step budget")
    group.add_argument("--candidates", type=int, metavar="K", help="number of candidate strategies")
    # dest differs from the flag: "profile" elsewhere means a user profile (batch rows, export --profile).
    group.add_argument("--profile", dest="settings_profile", metavar="NAME",
                       help="a settings preset, e.g. cpu-quick (see README)")
    group.add_argument(
        "--trace", choices=["otlp", "console"],
        help="trace the run with OpenTelemetry: OTLP (OTEL_EXPORTER_OTLP_* settings) or a span tree on stderr",
    )


def add_model_options(
    group: argparse._ArgumentGroup, *, config: str, backend: str, model: str, max_tokens: str, overrides: str
) -> None:
    """The flags :func:`config_from_args` reads for the default role's model, each with its help text:
    ``--config``, ``--backend``, ``--model``, ``--base-url``, ``--max-tokens`` and ``--set``."""
    group.add_argument("--config", metavar="FILE", help=config)
    group.add_argument("--backend", choices=["hf", "openai"], help=backend)
    group.add_argument("--model", help=model)
    group.add_argument("--base-url", help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1")
    group.add_argument("--max-tokens", type=int, metavar="N", help=max_tokens)
    group.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=overrides)


def config_from_args(args: argparse.Namespace) -> Any:
    """Build an ``OysterConfig`` from the file, environment and flags (flags win)."""
    import yaml

    from oyster_agents._safe_load import ReadError, load_yaml
    from oyster_agents.config import OysterConfig, deep_merge
    from oyster_agents.errors import ConfigError

    overrides: dict[str, Any] = {}
    default: dict[str, Any] = {}
    # ``is not None``: an explicit empty or zero value is validated (and refused), never ignored.
    if args.backend is not None:
        default["backend"] = args.backend
    if args.model is not None:
        default["model"] = args.model
    if args.base_url is not None:
        default["base_url"] = args.base_url
    if args.max_tokens is not None:
        default["max_tokens"] = args.max_tokens
    if default:
        overrides["roles"] = {"default": default}
    loop: dict[str, Any] = {}
    if args.max_steps is not None:
        loop["max_steps"] = args.max_steps
    if args.candidates is not None:
        loop["candidates"] = args.candidates
    if loop:
        overrides["loop"] = loop
    if getattr(args, "settings_profile", None):
        overrides["profile"] = args.settings_profile
    if getattr(args, "trace", None):
        overrides["telemetry"] = {"exporter": args.trace}
    for item in args.set:
        key, sep, raw = item.partition("=")
        parts = key.split(".")
        if not sep or not key or not all(parts):
            raise ConfigError(f"--set expects KEY=VALUE with a dotted KEY such as game.beta, got {item[:80]!r}")
        node: dict[str, Any] = {}
        cursor = node
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        try:
            cursor[parts[-1]] = load_yaml(raw)
        except ReadError as exc:
            raise ConfigError(f"--set {key}: the value is {exc.message}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: the value is not valid YAML ({getattr(exc, 'problem', None) or 'syntax error'}); "
                              "quote text that has YAML syntax in it") from None
        overrides = deep_merge(overrides, node)
    config = OysterConfig.load(args.config, overrides=overrides)
    if "default" in overrides.get("roles", {}) and "default" not in (config.roles or {}):
        raise ConfigError("flags for the default role need a 'default' role entry")
    return config


def read_query(value: str) -> str:
    """The query argument, or standard input for ``-``; rejects undecodable bytes."""
    if value != "-":
        return value
    data = read_stdin()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"standard input is not valid UTF-8 (byte {exc.start})") from exc


def read_stdin() -> bytes:
    """All of standard input as bytes.

    Raises:
        InputError: standard input is closed or cannot be read.
    """
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    try:
        if stream is None:
            raise ValueError("no standard input")
        data = stream.read()
    except (OSError, ValueError, AttributeError):
        raise InputError("standard input is closed or unreadable; pass the text as an argument instead of -") from None
    return data.encode("utf-8") if isinstance(data, str) else data
