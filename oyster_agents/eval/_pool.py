"""One chat model per distinct role setting, shared by targets and judges within a run (one load each)."""

from __future__ import annotations

import threading

from langchain_core.language_models import BaseChatModel

from oyster_agents.config import RoleModelConfig


class ModelPool:
    """Builds chat models on demand and reuses one instance per ``RoleModelConfig.identity()``."""

    def __init__(self) -> None:
        self._models: dict[str, BaseChatModel] = {}
        self._lock = threading.Lock()

    def get(self, cfg: RoleModelConfig) -> BaseChatModel:
        """The model for ``cfg``, built on first use."""
        from oyster_agents.backends import make_chat_model

        key = cfg.identity()
        with self._lock:
            if key not in self._models:
                self._models[key] = make_chat_model(cfg)
            return self._models[key]
