"""Serve a built site from memory on localhost: only its own pages, nothing from the file system."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from oyster_agents.errors import InputError
from oyster_agents.view.site import INDEX

_TYPES = {".html": "text/html; charset=utf-8"}


def make_server(site: Mapping[str, bytes], host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """An HTTP server answering only the site's paths (``/`` is the list page); any other path is 404.

    Paths are looked up in the site's mapping, never joined onto a folder, so ``..`` and absolute
    paths cannot reach files. Call ``serve_forever()`` on the result; ``server_address`` has the port.

    Raises:
        InputError: the port is taken or the host cannot be bound.
    """
    pages = dict(site)
    handler = _handler(pages)
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port} ({exc}); pick another --port") from exc


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or 'localhost')."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _handler(pages: dict[str, bytes]) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "oyster-view"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            name = unquote(urlsplit(self.path).path).lstrip("/") or INDEX
            data = pages.get(name)
            if data is None:
                data, status, kind = b"not found\n", 404, "text/plain; charset=utf-8"
            else:
                status, kind = 200, _TYPES.get(name[name.rfind("."):], "application/octet-stream")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # quiet: the CLI prints the URL once
            return

    return Handler
