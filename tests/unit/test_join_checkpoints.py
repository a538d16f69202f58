"""The smallest reproduction of the LangGraph behaviour ``graphs/_join_checkpoints.py`` works around.

A checkpoint holds the join channel's live set, so a checkpoint saved after a later step (as
``durability="async"`` does in the background) shows the join further along than it was. When
``test_upstream_still_hands_the_saver_a_live_join_set`` fails, LangGraph copies the set itself:
delete the workaround.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.channels.named_barrier_value import NamedBarrierValue, NamedBarrierValueAfterFinish
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from oyster_agents.graphs import _join_checkpoints


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


class KeepsReferences(InMemorySaver):
    """A saver that also keeps each checkpoint object as handed over, as a background save reads it later."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: list[dict[str, Any]] = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self.handed.append(checkpoint)
        return super().put(config, checkpoint, metadata, new_versions)


def _join_sets_as_read_after_the_run() -> list[set[str]]:
    """a runs at step 1, b (after x) at step 2, then the join c: the join's set in each checkpoint
    that has one, read once the run is over."""
    graph = StateGraph(State)
    for name in ("a", "x", "b", "c"):
        graph.add_node(name, lambda state, name=name: {"log": [name]})
    graph.add_edge(START, "a")
    graph.add_edge(START, "x")
    graph.add_edge("x", "b")
    graph.add_edge(["a", "b"], "c")
    graph.add_edge("c", END)
    saver = KeepsReferences()
    graph.compile(checkpointer=saver).invoke({}, {"configurable": {"thread_id": "t"}})
    return [
        set(value) for checkpoint in saver.handed for key, value in checkpoint["channel_values"].items()
        if key.startswith("join:") and isinstance(value, set) and value
    ]


@pytest.fixture
def upstream(monkeypatch):
    plain, after_finish = _join_checkpoints.UPSTREAM
    monkeypatch.setattr(NamedBarrierValue, "checkpoint", plain)
    monkeypatch.setattr(NamedBarrierValueAfterFinish, "checkpoint", after_finish)


def test_upstream_still_hands_the_saver_a_live_join_set(upstream):
    # The checkpoint of step 1 (only a done) reads as {a, b} once step 2 has run: resumed from it,
    # the run would fire c before b.
    assert _join_sets_as_read_after_the_run() == [{"a", "b"}, {"a", "b"}]


def test_with_the_workaround_each_checkpoint_keeps_the_join_as_it_was(upstream):
    _join_checkpoints.freeze_join_checkpoints()
    assert _join_sets_as_read_after_the_run() == [{"a"}, {"a", "b"}]
