"""The FastAPI app: ``POST /v1/chat/completions`` (plain and streamed), ``GET /v1/models``, ``GET /health``.

Limits: bearer keys (none means open), a request-body size cap (413) and a cap on requests in
flight (429, answered at once rather than queued). Bad requests get OpenAI-shaped 4xx errors;
an upstream failure gets a 5xx whose body names no internals (the cause is logged).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from langchain_core.messages import AIMessage, AIMessageChunk

from oyster_agents.errors import BackendError, DeadlineExceededError, InputError, MalformedOutputError
from oyster_agents.serving.protocol import ApiError, ChunkWriter, completion, error_event, parse_request

log = logging.getLogger("oyster_agents.serving")

TRACE_HEADER = "x-oyster-trace-id"
ROUTE_HEADER = "x-oyster-route"
KEYS_ENV = "OYSTER_API_KEYS"


@dataclass
class ServerSettings:
    """What the server enforces.

    Args:
        model_name: the model id clients see in ``/v1/models`` and in replies.
        api_keys: accepted bearer keys; empty means no authentication.
        max_body_bytes: the largest request body accepted (413 above it).
        max_concurrency: requests answered at once; one more gets 429.
        trace_file: JSONL file each graph-route trace is appended to (for distillation).
    """

    model_name: str = "oyster"
    api_keys: Sequence[str] = field(default_factory=tuple)
    max_body_bytes: int = 1_000_000
    max_concurrency: int = 8
    trace_file: Path | None = None


def keys_from_env(value: str | None) -> tuple[str, ...]:
    """Bearer keys from ``OYSTER_API_KEYS`` (comma-separated; blanks ignored)."""
    return tuple(k.strip() for k in (value or "").split(",") if k.strip())


class TraceFile:
    """Appends traces to a JSONL file, one line each, from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def __call__(self, trace: dict[str, Any]) -> None:
        line = json.dumps(trace, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)


class _Slots:
    """A non-blocking cap on requests in flight (the event loop is single-threaded)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> None:
        if self.used >= self.limit:
            raise ApiError(429, f"the server is answering {self.limit} requests already; retry shortly",
                           kind="rate_limit_error", code="too_many_requests")
        self.used += 1

    def give(self) -> None:
        self.used -= 1

    def holder(self) -> Callable[[], None]:
        """A release for one taken slot that gives it back once, however often it is called."""
        held = [True]

        def release() -> None:
            if held[0]:
                held[0] = False
                self.give()

        return release


def _error(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _upstream_error(exc: BaseException) -> ApiError:
    """The client-facing error for a failure while answering: its kind only, never its text or stack."""
    if isinstance(exc, InputError):
        return ApiError(400, str(exc), param="messages")
    if isinstance(exc, (BackendError, MalformedOutputError)):
        return ApiError(502, "the upstream model failed; try again later", kind="server_error", code="upstream_error")
    if isinstance(exc, DeadlineExceededError):
        return ApiError(504, "the answer did not finish in time", kind="server_error", code="timeout")
    return ApiError(500, "the server failed to answer this request", kind="server_error", code="internal_error")


def create_app(guard: Any, settings: ServerSettings | None = None) -> FastAPI:
    """The OpenAI-compatible app around a :class:`~oyster_agents.guard.ConstructiveGuard`.

    Args:
        guard: the guard (its ``on_trace`` is chained with the trace file, if one is set).
        settings: limits, keys and the served model name.
    """
    settings = settings or ServerSettings()
    if settings.trace_file is not None:
        writer, previous = TraceFile(settings.trace_file), guard.on_trace

        def on_trace(trace: dict[str, Any]) -> None:
            writer(trace)
            if previous is not None:
                previous(trace)

        guard = guard.model_copy(update={"on_trace": on_trace})
    slots = _Slots(settings.max_concurrency)
    keys = [k.encode("utf-8") for k in settings.api_keys]
    app = FastAPI(title="oyster-agents", docs_url=None, redoc_url=None, openapi_url=None)

    def check_key(request: Request) -> None:
        if not keys:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        token = given.strip().encode("utf-8")
        # compare_digest against every key: the time taken does not tell which key nearly matched.
        matched = [hmac.compare_digest(token, key) for key in keys]
        if scheme.lower() != "bearer" or not any(matched):
            raise ApiError(401, "missing or invalid API key (send 'Authorization: Bearer <key>')",
                           kind="authentication_error", code="invalid_api_key")

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise _too_large(settings.max_body_bytes)
        body = bytearray()
        async for part in request.stream():
            body.extend(part)
            if len(body) > settings.max_body_bytes:
                raise _too_large(settings.max_body_bytes)
        return bytes(body)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": settings.model_name, "in_flight": slots.used}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        check_key(request)
        return {"object": "list", "data": [{"id": settings.model_name, "object": "model", "created": 0,
                                             "owned_by": "oyster-agents"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        check_key(request)
        chat, messages = parse_request(await read_body(request))
        target = guard.bind_tools(chat.tools, tool_choice=chat.tool_choice) if chat.tools else guard
        run_id = uuid.uuid4()
        trace_id = f"guard-{run_id.hex}"
        completion_id = f"chatcmpl-{run_id.hex}"
        config = {"run_id": run_id, "run_name": "oyster_serve"}
        slots.take()
        if not chat.stream:
            try:
                reply = await target.ainvoke(messages, config, stop=chat.stop_list)
            except Exception as exc:
                raise _logged(exc, trace_id) from None
            finally:
                slots.give()
            route = (reply.response_metadata.get("oyster") or {}).get("route", "")
            return JSONResponse(completion(_as_ai(reply), completion_id=completion_id, model=settings.model_name),
                                headers={TRACE_HEADER: trace_id, ROUTE_HEADER: route})
        try:
            stream = target.astream(messages, config, stop=chat.stop_list).__aiter__()
            # Wait for the first chunk before answering: a failure up to here is still a clean 5xx.
            first = await stream.__anext__()
        except StopAsyncIteration:
            first = None
        except Exception as exc:
            slots.give()
            raise _logged(exc, trace_id) from None
        except BaseException:
            slots.give()
            raise
        writer = ChunkWriter(completion_id=completion_id, model=settings.model_name, include_usage=chat.include_usage)
        release = slots.holder()
        # The background task gives the slot back even when the client left before the body started.
        return StreamingResponse(_events(stream, first, writer, release, trace_id), media_type="text/event-stream",
                                 headers={TRACE_HEADER: trace_id, "cache-control": "no-cache"},
                                 background=BackgroundTask(release))

    return app


async def _events(stream: AsyncIterator[Any], first: Any, writer: ChunkWriter, release: Callable[[], None],
                  trace_id: str) -> AsyncIterator[str]:
    try:
        chunk = first
        while chunk is not None:
            for event in writer.chunk(_as_chunk(chunk)):
                yield event
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                chunk = None
        for event in writer.finish():
            yield event
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        yield error_event(_logged(exc, trace_id))
    finally:
        release()
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _logged(exc: BaseException, trace_id: str) -> ApiError:
    error = _upstream_error(exc)
    if error.status >= 500:
        log.error("request %s failed: %s", trace_id, type(exc).__name__, exc_info=exc)
    return error


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is over the limit of {limit} bytes", code="request_too_large")


def _as_ai(message: Any) -> AIMessage:
    return message if isinstance(message, AIMessage) else AIMessage(content=str(getattr(message, "content", "")))


def _as_chunk(chunk: Any) -> AIMessageChunk:
    return chunk if isinstance(chunk, AIMessageChunk) else AIMessageChunk(content=str(getattr(chunk, "content", "")))
