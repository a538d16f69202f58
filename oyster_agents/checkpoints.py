"""Durable multi-turn memory for apps that run the graph themselves: a checkpointer and its serializer.

:func:`sqlite_checkpointer` keeps each ``thread_id``'s state in SQLite; its serializer
(:func:`checkpoint_serde`) restores only this package's state types, so a checkpoint file cannot
bring arbitrary classes back to life.
"""

from __future__ import annotations

import sqlite3
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel


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
