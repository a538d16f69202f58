"""Model backends: build a LangChain chat model per role from configuration."""

from __future__ import annotations

import threading

from langchain_core.language_models import BaseChatModel

from oyster_agents.backends.calls import RoleRuntime, call_model, model_name
from oyster_agents.backends.fake import ScriptedChatModel, scripted_models
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.config import OysterConfig, Role, RoleModelConfig
from oyster_agents.errors import ConfigError

__all__ = [
    "ModelPool",
    "RoleRuntime",
    "ScriptedChatModel",
    "Structured",
    "call_model",
    "invoke_structured",
    "make_chat_model",
    "make_models",
    "model_name",
    "scripted_models",
]


def make_chat_model(cfg: RoleModelConfig) -> BaseChatModel:
    """Build the chat model one role config describes (local files only for ``hf``)."""
    if cfg.backend == "openai":
        from oyster_agents.backends.openai_compat import make_openai_model

        return make_openai_model(cfg)
    if cfg.backend == "hf":
        from oyster_agents.backends.default_model import default_model_path
        from oyster_agents.backends.local import LocalChatModel

        path = str(default_model_path()) if cfg.model == "default" else cfg.model
        return LocalChatModel(
            model_path=path, max_tokens=cfg.max_tokens, temperature=cfg.temperature, device=cfg.device, dtype=cfg.dtype,
            threads=cfg.threads, prefix_cache_mb=cfg.prefix_cache_mb, quantize=cfg.quantize,
        )
    raise ConfigError(
        "backend 'fake' has no model of its own: pass models=scripted_models(...) to build_graph"
    )


class ModelPool:
    """Builds chat models on demand and keeps one instance per ``RoleModelConfig.identity()``, so roles,
    targets and judges with the same settings share one loaded model."""

    def __init__(self) -> None:
        self._models: dict[str, BaseChatModel] = {}
        self._lock = threading.Lock()

    def get(self, cfg: RoleModelConfig) -> BaseChatModel:
        """The model for ``cfg``, built on first use."""
        key = cfg.identity()
        with self._lock:
            if key not in self._models:
                self._models[key] = make_chat_model(cfg)
            return self._models[key]


def make_models(config: OysterConfig, pool: ModelPool | None = None) -> dict[str, BaseChatModel]:
    """One chat model per role; roles with identical settings share one instance (one load).

    Args:
        config: the roles' settings.
        pool: where models are kept, to share them beyond these roles (e.g. with an evaluation's judge).
    """
    pool = pool or ModelPool()
    return {role.value: pool.get(config.role(role)) for role in Role}
