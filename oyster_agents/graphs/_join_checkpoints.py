"""Workaround for LangGraph (checked up to 1.2.24): join edges are checkpointed as they were, not as they became.

A join edge (``add_edge([a, b], c)``) is a ``NamedBarrierValue`` channel whose ``checkpoint()``
returns its live ``seen`` set. With ``durability="async"`` (LangGraph's default) a checkpoint is
serialised in the background, after later steps have added to that set: a process killed then
leaves a checkpoint whose join looks complete too early, and a resume from it runs the joined node
before its inputs, never runs it again, and ends without an answer. Returning a copy freezes the
set when the checkpoint is taken.

``tests/unit/test_join_checkpoints.py`` reproduces the upstream behaviour without the patch; when
a LangGraph release makes it fail (the channel returns a copy itself), delete this module and its
call in ``graph_builder``.
"""

from __future__ import annotations

from typing import Any

from langgraph.channels.named_barrier_value import NamedBarrierValue, NamedBarrierValueAfterFinish


# LangGraph's own methods, for the reproduction test.
UPSTREAM = (NamedBarrierValue.checkpoint, NamedBarrierValueAfterFinish.checkpoint)


def _seen_copy(self: NamedBarrierValue[Any]) -> set[Any]:
    return set(self.seen)


def _seen_copy_and_finished(self: NamedBarrierValueAfterFinish[Any]) -> tuple[set[Any], bool]:
    return (set(self.seen), self.finished)


def freeze_join_checkpoints() -> None:
    """Make every join channel's checkpoint a copy of its state (idempotent)."""
    NamedBarrierValue.checkpoint = _seen_copy  # type: ignore[method-assign]
    NamedBarrierValueAfterFinish.checkpoint = _seen_copy_and_finished  # type: ignore[method-assign]
