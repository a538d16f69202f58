"""The per-query deadline (``loop.deadline_s``): how a run that runs out of time stops cleanly.

The deadline is ``started_at + deadline_s``; ``prepare`` sets ``started_at`` when a run starts.
Every agent node runs inside a hook (:class:`DeadlineHook`) that enforces it:

- model calls made by the node see the deadline (:func:`~oyster_agents.backends.calls.deadline_scope`):
  none starts after it, retries never wait past it, and per-request timeouts are cut to the time left;
- before any Lingo-BP iterate is scored, a node that starts after the deadline, or whose call runs
  out of time, raises :class:`~oyster_agents.errors.DeadlineExceededError`: there is no answer yet;
- once an iterate exists, a Lingo-BP node (revise, respond, the critics) that starts late or runs
  out of time is skipped and leaves a ``deadline`` fallback; ``score_iterate`` then adds no iterate
  and ends the loop, so the run returns the best iterate so far. A step that finished in full is
  kept, and ``score_iterate`` ends the loop when the deadline passed during it.

Checkpoints keep ``started_at``, so a resumed run keeps its original clock. To give a resumed run
a fresh budget, call ``graph.update_state(config, {"started_at": time.time()})`` before resuming.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from oyster_agents.backends.calls import deadline_scope
from oyster_agents.errors import DeadlineExceededError
from oyster_agents.graphs._wrap import Hook, hook_added_nodes
from oyster_agents.schemas import Fallback

DEADLINE_KIND = "deadline"
LOOP_ROLE = "lingo_bp"


def deadline_at(state: Any, deadline_s: float | None) -> float | None:
    """The run's deadline (``time.time()`` seconds) from a node's input, or None."""
    if deadline_s is None or not isinstance(state, Mapping):
        return None
    started = state.get("started_at")
    return None if started is None else float(started) + deadline_s


def ran_out_of_time(fallbacks: Iterable[Any]) -> bool:
    """True when a node of this run was skipped (or the loop stopped) because of the deadline."""
    return any(getattr(f, "kind", None) == DEADLINE_KIND for f in fallbacks)


def stop_note(done_steps: int, max_steps: int, deadline_s: float) -> Fallback:
    """The fallback that says the loop stopped early, and after how many iterates."""
    return Fallback(
        role=LOOP_ROLE, kind=DEADLINE_KIND,
        detail=f"stopped after {done_steps} of at most {max_steps} steps: loop.deadline_s={deadline_s:g} passed",
    )


@dataclass(frozen=True)
class DeadlineHook(Hook):
    """Runs a node under the query's deadline (see the module docstring); a node hook (``graphs/_wrap.py``).

    Args:
        node: the node name.
        role: the agent role named in the error.
        deadline_s: ``loop.deadline_s``.
        in_loop: a Lingo-BP node, skipped rather than failed once an iterate exists.
    """

    node: str
    role: str
    deadline_s: float
    in_loop: bool

    def before(self, state: Any) -> tuple[float, Any] | None:
        at = deadline_at(state, self.deadline_s)
        return None if at is None else (at, state)

    @contextmanager
    def during(self, token: tuple[float, Any]) -> Iterator[None]:
        at = token[0]
        if time.time() >= at:
            raise DeadlineExceededError(
                f"the query's deadline (loop.deadline_s={self.deadline_s:g}) passed before {self.node}", role=self.role
            )
        with deadline_scope(at):  # sync nodes run in an executor that copies this context
            yield

    def error(self, token: tuple[float, Any], exc: BaseException) -> Any:
        state = token[1]
        if not (isinstance(exc, DeadlineExceededError) and self.in_loop and isinstance(state, Mapping)
                and state.get("iterates")):
            raise exc
        return {"fallbacks": [Fallback(role=self.role, kind=DEADLINE_KIND, detail=f"{self.node} skipped: {exc}"[:500])]}


def deadline_hooks(
    deadline_s: float | None, node_roles: Mapping[str, str], loop_nodes: Collection[str]
) -> dict[str, DeadlineHook]:
    """The deadline hook of each node of ``node_roles`` (none without a deadline).

    Args:
        deadline_s: ``loop.deadline_s``; None means no deadline.
        node_roles: node name → role, for the nodes to guard.
        loop_nodes: the Lingo-BP nodes that are skipped, not failed, once an iterate exists.
    """
    if deadline_s is None:
        return {}
    return {name: DeadlineHook(name, role, deadline_s, name in loop_nodes) for name, role in node_roles.items()}


def add_deadline_guards(
    graph: Any, deadline_s: float | None, node_roles: Mapping[str, str], loop_nodes: Collection[str]
) -> None:
    """Deprecated: ``graph_builder`` adds each node with its :class:`DeadlineHook`; this adds the hooks
    to the nodes of an uncompiled graph after the fact (see :func:`deadline_hooks`)."""
    warnings.warn("add_deadline_guards is deprecated: graph_builder adds each node with its "
                  "oyster_agents.graphs.deadline.DeadlineHook", DeprecationWarning, stacklevel=2)
    hook_added_nodes(graph, deadline_hooks(deadline_s, node_roles, loop_nodes))
