"""Models behind any OpenAI-compatible server: ``vllm serve`` first of all, or llama.cpp, TGI, OpenAI.

vLLM's structured outputs are used through ``response_format={"type": "json_schema", ...}``, which
vLLM's server maps to its guided decoding; servers that ignore it still work because every reply is
parsed and validated anyway.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from oyster_agents.config import RoleModelConfig


def make_openai_model(cfg: RoleModelConfig) -> BaseChatModel:
    """Build a ``ChatOpenAI`` for one role. Transport retries are ours, so the client's are off."""
    from langchain_openai import ChatOpenAI

    api_key = cfg.api_key.get_secret_value() if cfg.api_key else "not-needed"
    extra_body = dict(cfg.extra_body)
    return ChatOpenAI(
        model=cfg.model,
        base_url=cfg.base_url,
        api_key=api_key,
        temperature=cfg.temperature,
        max_tokens=cfg.max_tokens,
        timeout=cfg.timeout_s,
        max_retries=0,
        extra_body=extra_body or None,
    )


def response_format_for(schema: dict[str, Any], name: str, mode: str) -> dict[str, Any] | None:
    """The ``response_format`` request field for a structured call, or None for plain text."""
    if mode in ("auto", "json_schema"):
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}
    if mode == "json_object":
        return {"type": "json_object"}
    return None
