"""The one place every LLM call goes through: transport retries with backoff, usage records.

Nodes call :func:`call_model` with a :class:`RoleRuntime`; structured calls add re-asks on top
(``structured.py``). Tracing hooks in here too, so every call of every role is covered.

Time limits: each attempt is bounded by the role's ``timeout_s`` (passed to clients that take a
per-request timeout, such as ``ChatOpenAI``), and inside :func:`deadline_scope` the query's
deadline also bounds it: a call never starts after the deadline, a retry never waits past it, and
the per-request timeout is cut to the time left.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from oyster_agents.config import RoleModelConfig
from oyster_agents.errors import BackendError, ConfigError, DeadlineExceededError
from oyster_agents.schemas.trace import CallRecord
from oyster_agents.redact import credentials, redact

CallHook = Callable[["RoleRuntime", Sequence[BaseMessage], dict[str, Any]], Any]

# The running query's deadline (``time.time()`` seconds), set per node by the graph's deadline guard.
_DEADLINE: ContextVar[float | None] = ContextVar("oyster_deadline", default=None)


@contextmanager
def deadline_scope(at: float | None) -> Iterator[None]:
    """Model calls made inside must finish by ``at`` (seconds since the epoch; None: no deadline)."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def model_name(model: Any) -> str:
    """A chat model's name for traces, spans and messages: its ``model_name`` or ``model`` (through a
    ``bind``/``bind_tools`` binding), else its class name."""
    bound = getattr(model, "bound", model)
    for attr in ("model_name", "model"):
        value = getattr(bound, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(bound).__name__


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
        return model_name(self.model)

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


_TRANSIENT_NAMES = frozenset({
    "APIConnectionError", "APITimeoutError", "RateLimitError", "InternalServerError",
    "ConnectError", "ReadTimeout", "ConnectTimeout", "RemoteProtocolError", "ReadError",
    "APIResponseValidationError",
    # langchain-core's provider-neutral classes (langchain-openai raises subclasses of these)
    "ModelConnectionError", "ModelTimeoutError", "ModelRateLimitError", "ModelAPIError",
})


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: connection problems, timeouts, rate limits, 5xx answers and bodies
    that arrive empty or cut (a proxy or a restarting server)."""
    if isinstance(exc, (ConnectionError, TimeoutError, json.JSONDecodeError)):
        return True
    # By class name anywhere in the MRO: clients wrap each other's errors (langchain-openai
    # subclasses openai's), and the client libraries are optional imports.
    if any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__):
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
        DeadlineExceededError: the query's deadline passed before the call could succeed.
    """
    kwargs = _request_kwargs(runtime, json_schema, schema_name)
    invoke: Callable[..., AIMessage] = _plain_invoke
    for wrapper in runtime.wrappers:  # e.g. tracing: each wrapper takes and returns an invoke function
        invoke = wrapper(invoke)
    attempts = runtime.config.max_retries + 1
    deadline = _DEADLINE.get()
    started = time.perf_counter()
    tries = 0
    out_of_time = False

    def stop_at_deadline(state: Any) -> bool:
        nonlocal out_of_time
        out_of_time = deadline is not None and time.time() + (state.upcoming_sleep or 0.0) >= deadline
        return out_of_time

    try:
        for attempt in Retrying(
            stop=stop_after_attempt(attempts) | stop_at_deadline,
            wait=wait_exponential_jitter(initial=runtime.config.retry_backoff_s, max=20.0, jitter=runtime.config.retry_backoff_s),
            retry=retry_if_exception(is_transient),
            reraise=False,
        ):
            with attempt:
                if deadline is not None and time.time() >= deadline:
                    out_of_time = True
                    raise DeadlineExceededError(
                        "the query's deadline (loop.deadline_s) passed before this call",
                        role=runtime.role, model=runtime.model_name, attempts=tries,
                    )
                tries += 1
                message = invoke(runtime, list(messages), _with_timeout(runtime, kwargs, deadline))
    except RetryError as exc:
        last = exc.last_attempt.exception()
        if out_of_time:
            raise DeadlineExceededError(
                f"the query's deadline (loop.deadline_s) passed while retrying: {type(last).__name__}: "
                f"{_short(last, runtime)}",
                role=runtime.role, model=runtime.model_name, attempts=tries,
            ) from _chainable(last, runtime)
        raise BackendError(
            f"backend kept failing: {type(last).__name__}: {_short(last, runtime)}",
            role=runtime.role, model=runtime.model_name, attempts=tries,
        ) from _chainable(last, runtime)
    except (BackendError, ConfigError, DeadlineExceededError):
        raise
    except Exception as exc:  # non-transient: report at once, with who and what
        raise BackendError(
            f"backend error: {type(exc).__name__}: {_short(exc, runtime)}",
            role=runtime.role, model=runtime.model_name, attempts=tries,
        ) from _chainable(exc, runtime)
    seconds = time.perf_counter() - started
    usage = getattr(message, "usage_metadata", None) or {}
    text = message.text
    record = CallRecord(
        role=runtime.role,
        model=runtime.model_name,
        input_tokens=int(usage.get("input_tokens", 0)) or _estimate_tokens(messages),
        output_tokens=int(usage.get("output_tokens", 0)) or max(1, len(text) // 4),
        seconds=seconds,
        attempts=tries,
        cached_tokens=int((usage.get("input_token_details") or {}).get("cache_read") or 0),
        max_tokens=runtime.config.max_tokens,
        finish_reason=_finish_reason(message),
    )
    return message, record


def _finish_reason(message: AIMessage) -> str | None:
    meta = message.response_metadata or {}
    reason = meta.get("finish_reason") or meta.get("stop_reason")
    return reason if isinstance(reason, str) and reason else None


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
        from oyster_agents.backends.openai_compat import structured_request_fields

        return structured_request_fields(runtime.config, schema, name)
    return {}


def _with_timeout(runtime: RoleRuntime, kwargs: dict[str, Any], deadline: float | None) -> dict[str, Any]:
    """The request kwargs with a per-request timeout for clients that take one (cut to the deadline)."""
    if not runtime.openai_like:
        return kwargs
    timeout = runtime.config.timeout_s
    if deadline is not None:
        timeout = max(0.05, min(timeout, deadline - time.time()))
    return {**kwargs, "timeout": timeout}


def _estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    return max(1, sum(len(m.text) for m in messages) // 4)


def _secrets(runtime: RoleRuntime) -> list[str]:
    return credentials(runtime.config.api_key, runtime.config.base_url)


def _chainable(exc: BaseException | None, runtime: RoleRuntime) -> BaseException | None:
    """The error to chain as the cause, or None when its text repeats the API key (a server that
    echoes credentials): a logged traceback would print the cause in full."""
    if exc is None:
        return None
    text = "".join(traceback.format_exception(exc))
    return None if any(secret in text for secret in _secrets(runtime)) else exc


def _short(exc: BaseException | None, runtime: RoleRuntime, limit: int = 300) -> str:
    """The error text for a message: credentials masked (servers echo keys back), then cut."""
    text = redact(str(exc) if exc is not None else "", _secrets(runtime))
    return text if len(text) <= limit else text[:limit] + "…"
