"""A child process for the kill-and-resume test: runs one query on a SQLite checkpointer.

Usage: ``python -m tests.reliability._resume_child DB CALL_LOG THREAD_ID DURABILITY``

Every model call appends its role to CALL_LOG (fsynced) before answering. The reviser's first
revision (its second call; the first extracts iterate 0's chain) kills this process with SIGKILL,
as a crash or an OOM kill would, mid Lingo-BP with two iterates checkpointed. The test then resumes the thread
in its own process, on :func:`graph_for` with the same database and call log.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.config import Role
from oyster_agents.checkpoints import sqlite_checkpointer
from tests.reliability._helpers import NO_CONVERGENCE, schema_reply

QUERY = "How do I store bleach safely?"
CONFIG = OysterConfig(loop={"candidates": 2, "max_steps": 3, **NO_CONVERGENCE})


def logged(role: str, log_path: str, *, kill: bool = False) -> Any:
    """A scripted entry that records the call, then answers (or dies mid-call)."""

    def reply(messages: Any, schema: Any) -> str:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(("killed:" if kill else "") + role + "\n")
            log.flush()
            os.fsync(log.fileno())
        if kill:
            os.kill(os.getpid(), signal.SIGKILL)
        return schema_reply(messages, schema)

    return reply


def graph_for(db: str, log_path: str, *, kill_reviser: bool) -> Any:
    """The graph on the SQLite checkpointer ``db``, with models that log to ``log_path``."""
    scripts = {role.value: [logged(role.value, log_path)] for role in Role}
    if kill_reviser:
        scripts[Role.REVISER.value] = [logged(Role.REVISER.value, log_path),
                                       logged(Role.REVISER.value, log_path, kill=True)]
    return build_graph(CONFIG, models=scripted_models(scripts), checkpointer=sqlite_checkpointer(db))


def main(db: str, log_path: str, thread_id: str, durability: str) -> int:
    graph = graph_for(db, log_path, kill_reviser=True)
    config = {"configurable": {"thread_id": thread_id}}
    graph.invoke({"query": QUERY}, config, durability=durability)
    return 0  # not reached: the reviser's revision kills the process


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
