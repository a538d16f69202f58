"""oyster-agents: constructive safety alignment as a LangGraph graph of agents.

Public API::

    from oyster_agents import OysterConfig, build_graph
    graph = build_graph(OysterConfig())
    result = graph.invoke({"query": "..."})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oyster_agents._version import package_version
from oyster_agents.config import OysterConfig, Role, RoleModelConfig
from oyster_agents.errors import BackendError, ConfigError, InputError, MalformedOutputError, OysterError

__version__ = package_version()

__all__ = [
    "BackendError",
    "ConfigError",
    "ConstructiveGuard",
    "ConstructiveSafetyMiddleware",
    "InputError",
    "MalformedOutputError",
    "OysterConfig",
    "OysterError",
    "Role",
    "RoleModelConfig",
    "__version__",
    "build_graph",
    "configure_tracing",
    "default_model_path",
    "graph_builder",
    "run_batch",
]

if TYPE_CHECKING:
    from oyster_agents.backends.default_model import default_model_path
    from oyster_agents.graphs.constructive import build_graph, graph_builder
    from oyster_agents.guard import ConstructiveGuard
    from oyster_agents.middleware import ConstructiveSafetyMiddleware
    from oyster_agents.runner import run_batch
    from oyster_agents.telemetry import configure_tracing

_LAZY = {
    "ConstructiveGuard": "oyster_agents.guard",
    "ConstructiveSafetyMiddleware": "oyster_agents.middleware",
    "build_graph": "oyster_agents.graphs.constructive",
    "graph_builder": "oyster_agents.graphs.constructive",
    "default_model_path": "oyster_agents.backends.default_model",
    "configure_tracing": "oyster_agents.telemetry",
    "run_batch": "oyster_agents.runner",
}


def __getattr__(name: str) -> Any:
    # LangGraph and transformers load only when used, so `oyster --help` stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'oyster_agents' has no attribute {name!r}")
