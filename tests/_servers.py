"""A small OpenAI-compatible chat server on localhost, for tests and benchmarks.

It answers ``POST /v1/chat/completions`` and ``GET /v1/models`` from a thread pool, so requests
really run in parallel, and it records each request (start, end, model, body). Behaviour is
configurable per server: a latency per request, the first N chat requests failing with an HTTP
status, the first N bodies cut short (a connection that drops mid-reply), the first N answered
with an empty body or stalled past any client timeout, a per-request ``behaviour`` hook that picks
one of those faults by request content, or a custom reply.

By default a request with ``response_format`` (or vLLM's ``structured_outputs``) gets the
smallest JSON that fits its schema; a plain request gets a short ``<think>`` + answer text.

Example:
    >>> with OpenAICompatServer(latency_s=0.2, fail_first=2) as server:
    ...     config = {"roles": {"default": {"backend": "openai", "base_url": server.base_url, "model": "m"}}}

Run standalone (for manual runs and ``bench/bench_batch.py --server sim``)::

    python -m tests._servers --port 8123 --latency 0.3
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], str]
# (request body, 1-based chat request number) -> "fail" | "truncate" | "empty" | "stall" | "ok", or
# None to fall through to the counters (fail_first, truncate_first, empty_first, stall_first).
Behaviour = Callable[[dict[str, Any], int], "str | None"]
BEHAVIOURS = ("ok", "fail", "truncate", "empty", "stall")


@dataclass
class RequestLog:
    """One chat request as the server saw it."""

    start: float
    end: float = 0.0
    model: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    status: int = 200

    @property
    def user_text(self) -> str:
        """The content of the last user message."""
        for message in reversed(self.body.get("messages", [])):
            if message.get("role") == "user":
                return str(message.get("content", ""))
        return ""


def default_reply(body: dict[str, Any]) -> str:
    """Minimal schema-valid JSON for structured requests, else a short answer with reasoning."""
    from oyster_agents.backends.fake import minimal_instance

    schema = _requested_schema(body)
    if schema is not None:
        return json.dumps(minimal_instance(schema))
    last = ""
    for message in body.get("messages", []):
        if message.get("role") == "user":
            last = str(message.get("content", ""))
    return f"<think>Answer carefully.</think>A careful, helpful answer ({len(last)} characters of context)."


def _requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema")
    native = body.get("structured_outputs") or {}
    if isinstance(native, dict) and isinstance(native.get("json"), dict):
        return native["json"]
    return None


class OpenAICompatServer:
    """A threaded OpenAI-compatible test server (see the module docstring).

    Args:
        latency_s: seconds each chat request sleeps before answering.
        fail_first: the first N chat requests answer ``fail_status``.
        fail_status: the status of those failures (500 by default).
        fail_message: the error message of those failures; ``{authorization}`` is replaced by the
            request's Authorization header, as careless servers echo credentials back.
        truncate_first: the next N chat requests (after the failures) send half a body and close.
        empty_first: the next N chat requests answer 200 with an empty body.
        stall_first: the next N chat requests wait ``stall_s`` before answering (past a client's
            timeout; a stalled request ends early when the server stops).
        stall_s: how long a stalled request waits.
        behaviour: per request, pick a fault from the body (see ``Behaviour``); overrides the counters.
        models: names listed by ``/v1/models`` (any name is accepted in requests).
        reply: ``body -> text`` for the reply content; defaults to :func:`default_reply`.
        finish_reason: the ``finish_reason`` of every reply (``"length"`` mimics a reply cut at max_tokens).
        host, port: where to listen; port 0 picks a free one.
    """

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        fail_first: int = 0,
        fail_status: int = 500,
        fail_message: str = "injected failure",
        truncate_first: int = 0,
        empty_first: int = 0,
        stall_first: int = 0,
        stall_s: float = 30.0,
        behaviour: Behaviour | None = None,
        models: tuple[str, ...] = ("test-model",),
        reply: Reply | None = None,
        finish_reason: str = "stop",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.latency_s = latency_s
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.fail_message = fail_message
        self.truncate_first = truncate_first
        self.empty_first = empty_first
        self.stall_first = stall_first
        self.stall_s = stall_s
        self.behaviour = behaviour
        self._stopping = threading.Event()
        self.models = models
        self.reply = reply or default_reply
        self.finish_reason = finish_reason
        self.requests: list[RequestLog] = []
        self._lock = threading.Lock()
        self._chat_count = 0
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The ``base_url`` for an OpenAI client (ends with ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "OpenAICompatServer":
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "OpenAICompatServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def completed(self) -> list[RequestLog]:
        """The chat requests answered with status 200, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.status == 200 and r.end]

    def max_overlap(self) -> int:
        """The largest number of chat requests that were in progress at the same moment."""
        events = []
        for r in self.completed():
            events += [(r.start, 1), (r.end, -1)]
        # Ends sort before starts at the same instant: touching intervals do not overlap.
        events.sort(key=lambda e: (e[0], e[1]))
        current = best = 0
        for _, delta in events:
            current += delta
            best = max(best, current)
        return best

    def _next_behaviour(self, body: dict[str, Any] | None = None) -> str:
        with self._lock:
            self._chat_count += 1
            n = self._chat_count
        if self.behaviour is not None:
            chosen = self.behaviour(body or {}, n)
            if chosen is not None:
                if chosen not in BEHAVIOURS:
                    raise ValueError(f"unknown behaviour {chosen!r}; use one of {BEHAVIOURS}")
                return chosen
        bounds = 0
        for name, count in (("fail", self.fail_first), ("truncate", self.truncate_first),
                            ("empty", self.empty_first), ("stall", self.stall_first)):
            bounds += count
            if n <= bounds:
                return name
        return "ok"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

            def _send_json(self, status: int, payload: dict[str, Any], *, truncate: bool = False) -> None:
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    if truncate:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2] if truncate else data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. after a stall)
                    self.close_connection = True
                    return
                if truncate:
                    self.close_connection = True

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": name, "object": "model", "owned_by": "test"} for name in server.models]
                    self._send_json(200, {"object": "list", "data": data})
                else:
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    self._send_json(400, {"error": {"message": "invalid JSON body"}})
                    return
                log = RequestLog(start=time.monotonic(), model=str(body.get("model", "")), body=body)
                with server._lock:
                    server.requests.append(log)
                behaviour = server._next_behaviour(body)
                if server.latency_s:
                    time.sleep(server.latency_s)
                if behaviour == "stall" and server._stopping.wait(server.stall_s):
                    return  # the server is stopping: drop the request unanswered
                if behaviour == "empty":
                    log.status, log.end = 598, time.monotonic()  # not a real status: marks an empty body
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if behaviour == "fail":
                    log.status, log.end = server.fail_status, time.monotonic()
                    message = server.fail_message.replace("{authorization}", self.headers.get("Authorization", ""))
                    self._send_json(server.fail_status, {"error": {"message": message, "type": "server_error"}})
                    return
                content = server.reply(body)
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
                completion_tokens = max(1, len(content.split()))
                payload = {
                    "id": f"chatcmpl-{id(log)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": log.model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": server.finish_reason}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens},
                }
                if behaviour == "truncate":
                    log.status = 599  # not a real status: marks a reply cut short
                    log.end = time.monotonic()
                    self._send_json(200, payload, truncate=True)
                    return
                log.end = time.monotonic()
                self._send_json(200, payload)

        return Handler


def main() -> None:
    """Serve until interrupted (``python -m tests._servers``)."""
    parser = argparse.ArgumentParser(description="OpenAI-compatible test server")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per chat request")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--model", action="append", default=[], help="names for /v1/models (repeatable)")
    args = parser.parse_args()
    server = OpenAICompatServer(
        latency_s=args.latency, fail_first=args.fail_first, models=tuple(args.model) or ("test-model",), port=args.port
    )
    print(f"serving on {server.base_url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
