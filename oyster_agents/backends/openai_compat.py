"""Models behind any OpenAI-compatible server: ``vllm serve`` first of all, or llama.cpp, TGI, OpenAI.

vLLM's structured outputs are used through ``response_format={"type": "json_schema", ...}``, which
vLLM's server maps to its guided decoding; servers that ignore it still work because every reply is
parsed and validated anyway.

``base_url`` may list several endpoints (comma- or space-separated) that serve the same models;
a single graph uses the first, and batch runs spread queries over all of them.
"""

from __future__ import annotations

import re
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
        base_url=next(iter(split_base_urls(cfg.base_url or "")), cfg.base_url),
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


def structured_request_fields(cfg: RoleModelConfig, schema: dict[str, Any], name: str) -> dict[str, Any]:
    """``ChatOpenAI.invoke`` kwargs for a structured call: ``response_format`` sent inside ``extra_body``.

    As a top-level kwarg, ``response_format`` makes langchain-openai read the reply through the
    OpenAI client's strict parser, which raises ``LengthFinishReasonError`` for a reply cut at
    ``max_tokens`` instead of returning the text that the repair step can close. Inside
    ``extra_body`` the server receives the same JSON field, and the reply comes back as plain text.
    The role's own ``extra_body`` settings are kept.
    """
    fmt = response_format_for(schema, name, cfg.structured_output)
    if fmt is None:
        return {}
    return {"extra_body": {**cfg.extra_body, "response_format": fmt}}


def split_base_urls(base_url: str) -> list[str]:
    """The endpoints in a ``base_url`` setting: one URL, or several separated by commas or spaces."""
    return [url for url in re.split(r"[,\s]+", base_url.strip()) if url]


def list_served_models(base_url: str, *, api_key: str | None = None, timeout_s: float = 10.0) -> list[str] | None:
    """Ask a server which model names it serves (``GET /models``); None if it has no such route.

    vLLM lists the base model and every LoRA adapter given with ``--lora-modules``.

    Raises:
        httpx.HTTPError: the server cannot be reached or answered with a server error.
    """
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = httpx.get(base_url.rstrip("/") + "/models", headers=headers, timeout=timeout_s)
    if response.status_code >= 500:
        response.raise_for_status()
    if response.status_code != 200:
        return None
    try:
        data = response.json().get("data", [])
        return [str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry]
    except (ValueError, AttributeError):
        return None
