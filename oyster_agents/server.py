"""Hosting the graph in a LangGraph server: the factory ``langgraph dev`` / the Agent Server calls.

``langgraph.json`` at the repository root points ``langgraph dev`` at :func:`make_graph`, which builds
the graph when the server asks for it (nothing is compiled at import time). The server brings its own
checkpointer; apps that run the graph themselves get multi-turn memory from
:func:`oyster_agents.checkpoints.sqlite_checkpointer`.

Environment read by :func:`make_graph` (besides the ``OYSTER_*`` settings of ``OysterConfig``):

- ``OYSTER_CONFIG_FILE``: a YAML/JSON config file;
- ``OYSTER_APPROVE_HIGH_RISK``: ``1``/``true`` to pause high-risk answers for human review.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from oyster_agents._moved import moved_names
from oyster_agents.config import OysterConfig

CONFIG_FILE_ENV = "OYSTER_CONFIG_FILE"
APPROVE_ENV = "OYSTER_APPROVE_HIGH_RISK"

_graphs: dict[str, Any] = {}
_graphs_lock = threading.Lock()


def make_graph(config: dict[str, Any] | None = None) -> Any:
    """Graph factory for ``langgraph dev`` / the Agent Server (named in ``langgraph.json``).

    Args:
        config: the run's ``RunnableConfig``; ``configurable["oyster"]`` may hold overrides of
            ``OysterConfig`` fields (e.g. ``{"loop": {"max_steps": 1}}``), set per assistant.

    Returns:
        The compiled graph, without a checkpointer (the server supplies one). Graphs are cached
        per distinct overrides, so models load once.
    """
    from oyster_agents.graphs.constructive import graph_builder
    from oyster_agents.telemetry import instrument_graph

    from oyster_agents._safe_load import ReadError, check_depth
    from oyster_agents.errors import ConfigError

    overrides = ((config or {}).get("configurable") or {}).get("oyster") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"configurable.oyster must be an object of OysterConfig overrides, got {type(overrides).__name__}")
    try:
        check_depth(overrides)
        key = json.dumps(overrides, sort_keys=True, default=str)
    except (ReadError, ValueError, TypeError) as exc:
        raise ConfigError(f"configurable.oyster cannot be used as overrides: {exc}") from None
    with _graphs_lock:
        if key not in _graphs:
            oyster_config = OysterConfig.load(os.environ.get(CONFIG_FILE_ENV) or None, overrides=overrides)
            approve = os.environ.get(APPROVE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
            builder = graph_builder(oyster_config, approve_high_risk=approve)
            _graphs[key] = instrument_graph(builder.compile(name="oyster"))
        return _graphs[key]


# Deprecated: the checkpoint helpers live in ``oyster_agents.checkpoints``.
__getattr__ = moved_names(
    __name__,
    dict.fromkeys(("checkpoint_allowlist", "checkpoint_serde", "sqlite_checkpointer"), "oyster_agents.checkpoints"),
)
