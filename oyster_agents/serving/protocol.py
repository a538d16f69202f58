"""The OpenAI chat-completions wire format: requests in, completions, chunks and errors out."""

from __future__ import annotations

import json
import time
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, convert_to_messages
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oyster_agents._records import describe_errors, field_path


class ApiError(Exception):
    """An error the server answers in OpenAI's shape: ``{"error": {message, type, param, code}}``."""

    def __init__(self, status: int, message: str, *, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


class ChatRequest(BaseModel):
    """The fields of a chat-completions request the server acts on; other fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    stop: str | list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    n: int = Field(default=1, ge=1, le=1)

    @property
    def stop_list(self) -> list[str] | None:
        """``stop`` as a list (OpenAI accepts one string or a list)."""
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def include_usage(self) -> bool:
        """Whether a streamed reply ends with a usage chunk (``stream_options.include_usage``)."""
        return bool((self.stream_options or {}).get("include_usage"))


def parse_request(raw: bytes) -> tuple[ChatRequest, list[BaseMessage]]:
    """Validate a request body and convert its messages to LangChain messages.

    Raises:
        ApiError: 400 for a body that is not JSON, lacks ``messages`` or holds a malformed message.
    """
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    try:
        request = ChatRequest.model_validate(data)
    except ValidationError as exc:
        param = field_path(exc.errors()[0]["loc"], root="") or None
        raise ApiError(400, describe_errors(exc, limit=1, root="body"), param=param) from None
    try:
        messages = convert_to_messages(request.messages)
    except (ValueError, TypeError, KeyError) as exc:
        reason = str(exc).splitlines()[0]
        raise ApiError(400, f"messages: {reason}", param="messages") from None
    return request, messages


def _tool_calls(message: AIMessage) -> list[dict[str, Any]]:
    return [
        {"id": call.get("id") or f"call_{i}", "type": "function",
         "function": {"name": call["name"], "arguments": json.dumps(call.get("args", {}), ensure_ascii=False)}}
        for i, call in enumerate(message.tool_calls)
    ]


def usage_of(message: AIMessage) -> dict[str, int]:
    """OpenAI's ``usage`` object from a reply's usage metadata (zeros when the model reported none)."""
    usage = message.usage_metadata or {}
    n_in, n_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}


def completion(message: AIMessage, *, completion_id: str, model: str) -> dict[str, Any]:
    """A ``chat.completion`` object for one reply; ``oyster`` carries the route and assessment."""
    body: dict[str, Any] = {"role": "assistant", "content": message.text}  # text blocks joined, others left out
    finish = "stop"
    if message.tool_calls:
        body["tool_calls"] = _tool_calls(message)
        body["content"] = body["content"] or None
        finish = "tool_calls"
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": body, "finish_reason": finish, "logprobs": None}],
        "usage": usage_of(message),
        "oyster": _public_metadata(message),
    }


def _public_metadata(message: BaseMessage) -> dict[str, Any]:
    meta = dict((message.response_metadata or {}).get("oyster") or {})
    meta.pop("trace", None)  # the full trace goes to the trace file, not to the client
    return meta


class ChunkWriter:
    """Turns the guard's message chunks into ``chat.completion.chunk`` server-sent events."""

    def __init__(self, *, completion_id: str, model: str, include_usage: bool) -> None:
        self.completion_id = completion_id
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time())
        self.total: AIMessageChunk | None = None
        self._started = False
        self._tool_indexes: set[int] = set()

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        data = {"id": self.completion_id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": choices, **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    def chunk(self, chunk: AIMessageChunk) -> list[str]:
        """The events for one message chunk (none when it carries no text or tool call)."""
        self.total = chunk if self.total is None else self.total + chunk
        delta: dict[str, Any] = {}
        if not self._started:
            delta["role"] = "assistant"
        text = chunk.text
        if text:
            delta["content"] = text
        calls = []
        for i, call in enumerate(chunk.tool_call_chunks):
            index = call.get("index")
            index = i if index is None else index
            entry: dict[str, Any] = {"index": index}
            if index not in self._tool_indexes:
                self._tool_indexes.add(index)
                entry.update(id=call.get("id") or f"call_{index}", type="function")
            entry["function"] = {k: v for k, v in (("name", call.get("name")), ("arguments", call.get("args") or ""))
                                 if v is not None}
            calls.append(entry)
        if calls:
            delta["tool_calls"] = calls
        if not delta or delta == {"role": "assistant"} and self._started:
            return []
        self._started = True
        return [self._event([{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}])]

    def finish(self) -> list[str]:
        """The closing events: finish reason (with the route and assessment), usage on request, ``[DONE]``."""
        total = self.total or AIMessageChunk(content="")
        finish = "tool_calls" if self._tool_indexes else "stop"
        events = []
        if not self._started:
            events.append(self._event([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                        "finish_reason": None, "logprobs": None}]))
        events.append(self._event([{"index": 0, "delta": {}, "finish_reason": finish, "logprobs": None}],
                                  oyster=_public_metadata(total)))
        if self.include_usage:
            events.append(self._event([], usage=usage_of(total)))
        events.append("data: [DONE]\n\n")
        return events


def error_event(error: ApiError) -> str:
    """An error reported inside a stream that has already started."""
    return f"data: {json.dumps(error.body())}\n\n"
