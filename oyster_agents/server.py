"""Hosting the graph: the ``langgraph dev`` factory and a durable SQLite checkpointer for apps.

``langgraph.json`` at the repository root points ``langgraph dev`` at :func:`make_graph`, which builds
the graph when the server asks for it (nothing is compiled at import time). The server brings its own
checkpointer; apps that run the graph themselves get multi-turn memory from
:func:`sqlite_checkpointer`, whose serializer is limited to this package's state types.

Environment read by :func:`make_graph` (besides the ``OYSTER_*`` settings of ``OysterConfig``):

- ``OYSTER_CONFIG_FILE``: a YAML/JSON config file;
- ``OYSTER_APPROVE_HIGH_RISK``: ``1``/``true`` to pause high-risk answers for human review.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

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


def checkpoint_allowlist() -> set[tuple[str, str]]:
    """The (module, class) pairs a checkpoint of this graph holds: every schema model and enum, and
    the chat message types of the ``messages`` channel."""
    from langchain_core import messages

    from oyster_agents import schemas

    allowed = set()
    for value in vars(schemas).values():
        if isinstance(value, type) and issubclass(value, (BaseModel, Enum)):
            allowed.add((value.__module__, value.__name__))
    for kind in ("Human", "AI", "System", "Tool", "Chat", "Function"):
        for name in (f"{kind}Message", f"{kind}MessageChunk"):
            cls = getattr(messages, name)
            allowed.add((cls.__module__, cls.__name__))
    allowed.add((messages.RemoveMessage.__module__, "RemoveMessage"))
    return allowed


def checkpoint_serde(extra: set[tuple[str, str]] | None = None) -> Any:
    """A LangGraph serializer that restores only this package's types (plus ``extra``).

    LangGraph's own message and datetime types are always allowed. Without an allowlist, the
    default serializer of ``langgraph-checkpoint`` 4.x restores any class it finds in a checkpoint
    (with a warning) and blocks them all once ``LANGGRAPH_STRICT_MSGPACK`` is set; this one
    restores our state exactly and nothing else. Pass your own state's classes in ``extra`` when
    the graph is a node of a parent graph that keeps custom types.
    """
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    allowed = checkpoint_allowlist() | set(extra or ())
    allowed.add(("langgraph.types", "Overwrite"))
    return JsonPlusSerializer(allowed_msgpack_modules=sorted(allowed))


def sqlite_checkpointer(path: str | Path = "oyster.db", extra: set[tuple[str, str]] | None = None) -> Any:
    """A ``SqliteSaver`` on ``path`` with :func:`checkpoint_serde`: multi-turn memory per ``thread_id``.

    The connection may be used from LangGraph's worker threads; close it with ``saver.conn.close()``.
    For ``ainvoke``/``astream`` use ``AsyncSqliteSaver`` with ``serde=checkpoint_serde()``.

    Example:
        >>> saver = sqlite_checkpointer("chat.db")
        >>> graph = build_graph(config, checkpointer=saver)
        >>> graph.invoke({"query": "hi"}, {"configurable": {"thread_id": "user-42"}})
    """
    from langgraph.checkpoint.sqlite import SqliteSaver

    if str(path) != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    return SqliteSaver(conn, serde=checkpoint_serde(extra))
