"""The one place every LLM call goes through: transport retries with backoff, usage records.

Nodes call :func:`call_model` with a :class:`RoleRuntime`; structured calls add re-asks on top
(``structured.py``). Tracing hooks in here too, so every call of every role is covered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from oyster_agents.config import RoleModelConfig
from oyster_agents.errors import BackendError, ConfigError
from oyster_agents.schemas.trace import CallRecord

CallHook = Callable[["RoleRuntime", Sequence[BaseMessage], dict[str, Any]], Any]


@dataclass
class RoleRuntime:
    """What a node needs to call its model: the role, the model and its settings."""

    role: str
    model: BaseChatModel
    config: RoleModelConfig = field(default_factory=RoleModelConfig)
    wrappers: list[Any] = field(default_factory=list)

    @property
    def model_name(self) -> str:
        """The model's name for traces and spans."""
        for attr in ("model_name", "model"):
            value = getattr(self.model, attr, None)
            if isinstance(value, str) and value:
                return value
        return type(self.model).__name__

    @property
    def native_schema(self) -> bool:
        """True when the model takes ``json_schema=`` for grammar-constrained decoding."""
        from oyster_agents.backends.fake import ScriptedChatModel
        from oyster_agents.backends.local import LocalChatModel

        return isinstance(self.model, (LocalChatModel, ScriptedChatModel))

    @property
    def openai_like(self) -> bool:
        """True for ``ChatOpenAI`` (request fields such as ``response_format`` are forwarded)."""
        return type(self.model).__name__ in ("ChatOpenAI", "AzureChatOpenAI")


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: connection problems, timeouts, rate limits and 5xx answers."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    name = type(exc).__name__
    if name in {"APIConnectionError", "APITimeoutError", "RateLimitError", "InternalServerError",
                "ConnectError", "ReadTimeout", "ConnectTimeout", "RemoteProtocolError", "ReadError"}:
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status >= 500 or status == 429)


def call_model(
    runtime: RoleRuntime,
    messages: Sequence[BaseMessage],
    *,
    json_schema: dict[str, Any] | None = None,
    schema_name: str = "output",
) -> tuple[AIMessage, CallRecord]:
    """Invoke the role's model once (with transport retries) and record usage.

    Raises:
        BackendError: the backend still failed after ``max_retries`` retries with backoff,
            or failed with a non-transient error.
    """
    kwargs = _request_kwargs(runtime, json_schema, schema_name)
    invoke: Callable[..., AIMessage] = _plain_invoke
    for wrapper in runtime.wrappers:  # e.g. tracing: each wrapper takes and returns an invoke function
        invoke = wrapper(invoke)
    attempts = runtime.config.max_retries + 1
    started = time.perf_counter()
    tries = 0
    try:
        for attempt in Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(initial=runtime.config.retry_backoff_s, max=20.0, jitter=runtime.config.retry_backoff_s),
            retry=retry_if_exception(is_transient),
            reraise=False,
        ):
            with attempt:
                tries += 1
                message = invoke(runtime, list(messages), kwargs)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise BackendError(
            f"backend kept failing: {type(last).__name__}: {_short(last)}",
            role=runtime.role, model=runtime.model_name, attempts=tries,
        ) from last
    except (BackendError, ConfigError):
        raise
    except Exception as exc:  # non-transient: report at once, with who and what
        raise BackendError(
            f"backend error: {type(exc).__name__}: {_short(exc)}",
            role=runtime.role, model=runtime.model_name, attempts=tries,
        ) from exc
    seconds = time.perf_counter() - started
    usage = getattr(message, "usage_metadata", None) or {}
    text = message.content if isinstance(message.content, str) else str(message.content)
    record = CallRecord(
        role=runtime.role,
        model=runtime.model_name,
        input_tokens=int(usage.get("input_tokens", 0)) or _estimate_tokens(messages),
        output_tokens=int(usage.get("output_tokens", 0)) or max(1, len(text) // 4),
        seconds=seconds,
        attempts=tries,
    )
    return message, record


def _plain_invoke(runtime: RoleRuntime, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
    result = runtime.model.invoke(messages, **kwargs)
    if not isinstance(result, AIMessage):
        result = AIMessage(content=getattr(result, "content", str(result)))
    return result


def _request_kwargs(runtime: RoleRuntime, schema: dict[str, Any] | None, name: str) -> dict[str, Any]:
    mode = runtime.config.structured_output
    native = runtime.native_schema
    base: dict[str, Any] = (
        {"max_tokens": runtime.config.max_tokens, "temperature": runtime.config.temperature} if native else {}
    )
    if schema is None or mode == "none":
        return base
    if native:
        return {**base, "json_schema": schema}
    if runtime.openai_like:
        from oyster_agents.backends.openai_compat import response_format_for

        fmt = response_format_for(schema, name, mode)
        return {"response_format": fmt} if fmt else {}
    return {}


def _estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    return max(1, sum(len(str(m.content)) for m in messages) // 4)


def _short(exc: BaseException | None, limit: int = 300) -> str:
    text = str(exc) if exc is not None else ""
    return text if len(text) <= limit else text[:limit] + "…"
