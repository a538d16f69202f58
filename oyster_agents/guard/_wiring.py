"""The guard's lazily built parts: the role models, the policy, the assessor and the compiled graph."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.config import Role
from oyster_agents.errors import ConfigError
from oyster_agents.guard._routing import DecisionCache
from oyster_agents.taxonomy import Taxonomy

if TYPE_CHECKING:
    from oyster_agents.guard._model import ConstructiveGuard


class Parts:
    """Built on first use and shared by a guard and its copies (``bind_tools``, ``model_copy``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._assessor: tuple[RoleRuntime, Taxonomy] | None = None
        self._models: Mapping[str, BaseChatModel] | None = None
        self._graph: Any = None
        self.cache = DecisionCache()

    def assessor(self, guard: ConstructiveGuard) -> tuple[RoleRuntime, Taxonomy]:
        """The risk assessor's runtime and the policy it assesses against."""
        config = guard.config
        with self._lock:
            if self._assessor is None:
                from oyster_agents.backends import make_models
                from oyster_agents.taxonomy import load_taxonomy
                from oyster_agents.telemetry.spans import trace_call

                # One set of role models for the assessor and the graph (a local model loads once).
                self._models = guard.models if guard.models is not None else make_models(config)
                policy = guard.taxonomy or load_taxonomy(config.policy_path)
                role = Role.RISK_ASSESSOR.value
                model = self._models.get(role) or self._models.get("default")
                if model is None:
                    raise ConfigError(f"no model for role '{role}': pass models['{role}'] or models['default']")
                # The same call wrappers as the graph's own runtimes get (graphs/_hooks.instrument).
                runtime = RoleRuntime(role=role, model=model, config=config.role(role), wrappers=[*guard.wrappers, trace_call])
                self._assessor = (runtime, policy)
            return self._assessor

    def graph(self, guard: ConstructiveGuard) -> Any:
        """The compiled constructive-safety graph, on the assessor's models and policy."""
        _, policy = self.assessor(guard)
        with self._lock:
            if self._graph is None:
                from oyster_agents.graphs.constructive import graph_builder
                from oyster_agents.telemetry import instrument_graph

                builder = graph_builder(guard.config, models=self._models, taxonomy=policy, wrappers=list(guard.wrappers))
                self._graph = instrument_graph(builder.compile(name="oyster"))
            return self._graph


def trace_summary(trace: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers of a trace a host app logs: scores of the best iterate, steps, fallbacks, time."""
    iterates = trace.get("iterates") or []
    best_index = trace.get("best_iterate", 0)
    best = iterates[best_index] if iterates else {}
    return {
        "iterates": len(iterates),
        "best_iterate": best_index,
        "safety_score": best.get("safety_score"),
        "satisfaction_score": best.get("satisfaction_score"),
        "constructive_score": best.get("constructive_score"),
        "fallbacks": len(trace.get("fallbacks") or []),
        "wall_seconds": (trace.get("usage") or {}).get("wall_seconds"),
    }
