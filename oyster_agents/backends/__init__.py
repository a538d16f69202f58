"""Model backends: build a LangChain chat model per role from configuration."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from oyster_agents.backends.calls import RoleRuntime, call_model
from oyster_agents.backends.fake import ScriptedChatModel, scripted_models
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.config import OysterConfig, Role, RoleModelConfig
from oyster_agents.errors import ConfigError

__all__ = [
    "RoleRuntime",
    "ScriptedChatModel",
    "Structured",
    "call_model",
    "invoke_structured",
    "make_chat_model",
    "make_models",
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


def make_models(config: OysterConfig) -> dict[str, BaseChatModel]:
    """One chat model per role; roles with identical settings share one instance (one load)."""
    shared: dict[str, BaseChatModel] = {}
    models: dict[str, BaseChatModel] = {}
    for role in Role:
        cfg = config.role(role)
        key = cfg.identity()
        if key not in shared:
            shared[key] = make_chat_model(cfg)
        models[role.value] = shared[key]
    return models
