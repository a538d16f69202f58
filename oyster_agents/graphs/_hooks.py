"""The hooks each node of the constructive graph runs in: spans (outermost), progress, deadline."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.config import OysterConfig
from oyster_agents.graphs._names import NODE_ROLES, SCORE, SKIPPABLE_NODES, STEP_NODES
from oyster_agents.graphs._wrap import NodeHook
from oyster_agents.graphs.deadline import deadline_hooks
from oyster_agents.graphs.progress import ProgressHook


def instrument(runtimes: Iterable[RoleRuntime]) -> Mapping[str, NodeHook]:
    """Tracing, always in place (spans only while tracing applies): each model call of ``runtimes``
    in a ``chat`` span, and the returned hooks put each agent node in its ``invoke_agent`` and
    Lingo-BP step spans."""
    from oyster_agents.telemetry.nodes import span_hooks
    from oyster_agents.telemetry.spans import trace_call

    for runtime in runtimes:
        if trace_call not in runtime.wrappers:
            runtime.wrappers.append(trace_call)
    return span_hooks(NODE_ROLES, STEP_NODES, SCORE)


def node_hooks(config: OysterConfig, runtimes: Iterable[RoleRuntime]) -> Callable[[str], list[NodeHook]]:
    """``hooks(node)``: what the node runs in, outermost first.

    Every node announces itself on ``stream_mode="custom"`` ("assessing risk…"); with
    ``loop.deadline_s`` the agent nodes fail, or are skipped, once it passes (``graphs/deadline.py``).
    """
    spans = instrument(runtimes)
    deadlines = deadline_hooks(config.loop.deadline_s, NODE_ROLES, SKIPPABLE_NODES)
    max_steps = config.loop.max_steps

    def hooks(node: str) -> list[NodeHook]:
        chosen = (spans.get(node), ProgressHook(node, max_steps), deadlines.get(node))
        return [hook for hook in chosen if hook is not None]

    return hooks
