"""Deprecated: the graph-level spans moved to :mod:`oyster_agents.telemetry.nodes`.

``TracedStateGraph`` and ``traced_graph`` are the same objects there. ``TracedNode`` became the
node hook ``NodeSpans``, which ``graph_builder`` applies as it adds each node. ``wrap_nodes`` and
``telemetry.instrument_builder`` still instrument a builder's nodes after the fact; they go in the
next release. (This module imports ``graphs._wrap`` for them, the one import of ``telemetry``
into ``graphs``; it goes with them.)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

_MOVED = {"TracedStateGraph": "TracedStateGraph", "traced_graph": "traced_graph", "TracedNode": "NodeSpans"}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    new = _MOVED[name]
    warnings.warn(
        f"oyster_agents.telemetry.graph.{name} is deprecated: use oyster_agents.telemetry.nodes.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    from oyster_agents.telemetry import nodes

    return getattr(nodes, new)


def wrap_nodes(
    graph: Any, node_roles: Mapping[str, str], step_nodes: Iterable[str] = (), step_end: str | None = None
) -> None:
    """Deprecated: put the agent nodes of an uncompiled graph in their spans after the fact.

    ``graph_builder`` already does this as it adds each node; for your own graph, add each node
    with ``oyster_agents.graphs._wrap.add_node(graph, name, action, [hook])`` and the hooks of
    ``oyster_agents.telemetry.nodes.span_hooks``.
    """
    warnings.warn(
        "oyster_agents.telemetry.graph.wrap_nodes is deprecated: graph_builder instruments its nodes; "
        "see oyster_agents.telemetry.nodes.span_hooks",
        DeprecationWarning,
        stacklevel=2,
    )
    _wrap_nodes(graph, node_roles, step_nodes, step_end)


def _wrap_nodes(
    graph: Any, node_roles: Mapping[str, str], step_nodes: Iterable[str], step_end: str | None
) -> None:
    from oyster_agents.graphs._wrap import hook_added_nodes
    from oyster_agents.telemetry.nodes import span_hooks

    hook_added_nodes(graph, span_hooks(node_roles, step_nodes, step_end))
