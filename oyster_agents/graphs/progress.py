"""Progress events: each node announces itself on LangGraph's ``custom`` stream as it starts.

A UI streams with ``stream_mode=["updates", "custom"]`` and shows "assessing risk…",
"simulating users…", "revising (2/3)…"; ``updates`` then tells it when each node finished. Outside
``stream_mode="custom"`` the writer is a no-op, so the events cost nothing.

Event shape (a plain dict, JSON-ready)::

    {"type": "oyster.progress", "node": "revise", "label": "revising (2/3)",
     "step": 2, "max_steps": 3}

``step`` and ``max_steps`` appear on the Lingo-BP nodes only; the fan-out nodes add the branch
they run (``candidate`` for strategies, ``candidate`` and ``user_type`` for simulations).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.config import get_stream_writer

from oyster_agents.graphs._names import STEP_NODES as LINGO_BP_STEP
from oyster_agents.graphs._wrap import Hook, hook_added_nodes

EVENT_TYPE = "oyster.progress"

LABELS: dict[str, str] = {
    "prepare": "reading the message",
    "assess_risk": "assessing risk",
    "propose_strategy": "drafting strategies",
    "collect_candidates": "collecting strategies",
    "simulate_user": "simulating users",
    "solve_game": "choosing a strategy",
    "answer_unguided": "writing a first answer",
    "extract_chain": "reading the first answer's reasoning",
    "respond": "writing the answer",
    "critique": "reviewing the answer",
    "react_to_answer": "predicting user reactions",
    "judge_safety": "checking safety",
    "judge_satisfaction": "checking helpfulness",
    "score_iterate": "scoring the answer",
    "revise": "revising",
    "review": "waiting for human review",
    "finalize": "finishing",
}

# Nodes that belong to one Lingo-BP iterate; their events carry the iterate number.
STEP_NODES = frozenset(LINGO_BP_STEP)


def progress_event(node: str, state: Any, max_steps: int) -> dict[str, Any]:
    """The event a node emits when it starts, from its input (the state or a ``Send`` payload)."""
    label = LABELS.get(node, node.replace("_", " "))
    event: dict[str, Any] = {"type": EVENT_TYPE, "node": node, "label": label}
    if not isinstance(state, Mapping):
        return event
    if node in STEP_NODES:
        # The iterate being produced: it joins ``iterates`` only after scoring, and ``revise``
        # (after iterate n was scored) already works toward iterate n + 1.
        step = min(len(state.get("iterates") or []) + 1, max_steps)
        event.update(step=step, max_steps=max_steps, label=f"{label} ({step}/{max_steps})")
    elif node == "propose_strategy" and "index" in state:
        event["candidate"] = state["index"]
    if node == "react_to_answer" and "user_type" in state:
        event["user_type"] = state["user_type"]
    elif node == "simulate_user" and "candidate" in state:
        event.update(candidate=getattr(state["candidate"], "index", None), user_type=state.get("user_type"))
    return event


@dataclass(frozen=True)
class ProgressHook(Hook):
    """Writes the node's progress event as it starts; a node hook (``graphs/_wrap.py``)."""

    node: str
    max_steps: int

    def before(self, state: Any) -> None:
        get_stream_writer()(progress_event(self.node, state, self.max_steps))


def add_progress_events(graph: Any, max_steps: int) -> None:
    """Deprecated: ``graph_builder`` adds each node with its :class:`ProgressHook`; this adds the hook
    to every node of an uncompiled graph after the fact."""
    warnings.warn("add_progress_events is deprecated: graph_builder adds each node with its "
                  "oyster_agents.graphs.progress.ProgressHook", DeprecationWarning, stacklevel=2)
    hook_added_nodes(graph, {name: ProgressHook(name, max_steps) for name in graph.nodes})
