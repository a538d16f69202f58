"""The per-query deadline (``loop.deadline_s``): how a run that runs out of time stops cleanly.

The deadline is ``started_at + deadline_s``; ``prepare`` sets ``started_at`` when a run starts.
Every agent node runs inside a guard that enforces it:

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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from oyster_agents.backends.calls import deadline_scope
from oyster_agents.errors import DeadlineExceededError
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


class _Deadlined(Runnable[Any, Any]):
    """A node that runs under the query's deadline (see the module docstring)."""

    def __init__(self, inner: Runnable[Any, Any], node: str, role: str, deadline_s: float, in_loop: bool) -> None:
        self.inner = inner
        self.node = node
        self.role = role
        self.deadline_s = deadline_s
        self.in_loop = in_loop
        self.name = node

    def _check(self, at: float) -> None:
        if time.time() >= at:
            raise DeadlineExceededError(
                f"the query's deadline (loop.deadline_s={self.deadline_s:g}) passed before {self.node}", role=self.role
            )

    def _skipped(self, state: Any, exc: DeadlineExceededError) -> dict[str, Any]:
        if not (self.in_loop and isinstance(state, Mapping) and state.get("iterates")):
            raise exc
        return {"fallbacks": [Fallback(role=self.role, kind=DEADLINE_KIND, detail=f"{self.node} skipped: {exc}"[:500])]}

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        at = deadline_at(input, self.deadline_s)
        if at is None:
            return self.inner.invoke(input, config, **kwargs)
        try:
            self._check(at)
            with deadline_scope(at):
                return self.inner.invoke(input, config, **kwargs)
        except DeadlineExceededError as exc:
            return self._skipped(input, exc)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        at = deadline_at(input, self.deadline_s)
        if at is None:
            return await self.inner.ainvoke(input, config, **kwargs)
        try:
            self._check(at)
            with deadline_scope(at):  # sync nodes run in an executor that copies this context
                return await self.inner.ainvoke(input, config, **kwargs)
        except DeadlineExceededError as exc:
            return self._skipped(input, exc)


def add_deadline_guards(
    graph: Any, deadline_s: float | None, node_roles: Mapping[str, str], loop_nodes: Sequence[str]
) -> None:
    """Run each node of ``node_roles`` of an uncompiled graph under the deadline (no-op without one).

    Args:
        graph: the uncompiled ``StateGraph``.
        deadline_s: ``loop.deadline_s``; None leaves the graph untouched.
        node_roles: node name → role, for the nodes to guard.
        loop_nodes: the Lingo-BP nodes that are skipped, not failed, once an iterate exists.
    """
    if deadline_s is None:
        return
    for name, spec in graph.nodes.items():
        if name in node_roles and not isinstance(spec.runnable, _Deadlined):
            spec.runnable = _Deadlined(spec.runnable, name, node_roles[name], deadline_s, name in loop_nodes)
