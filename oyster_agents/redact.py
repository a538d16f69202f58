"""Keep credentials out of messages, logs and telemetry: scrub error text, strip user info from URLs.

The one place that knows what a credential looks like; backends, the runner and telemetry use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MASK = "[REDACTED]"

# Shapes of credentials that error messages from HTTP clients tend to echo back.
_PATTERNS = [
    re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-*]{6,}"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-*]{6,}"),
    re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|token|secret|password|authorization)\b(\s*[=:]\s*)([\"']?)[^\s\"',;]+"),
    re.compile(r"(?i)(https?://)[^/@\s:]+:[^/@\s]+@"),
]
_USER_INFO = re.compile(r"[a-z][a-z0-9+.-]*://([^/@\s]+)@", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s,]+@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and every credential-shaped token masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}", text)
    return _PATTERNS[3].sub(lambda m: f"{m.group(1)}{MASK}@", text)


def url_secrets(url: str | None) -> list[str]:
    """The user name and password written into a URL (``http://user:pass@host``), to be masked."""
    found = []
    for match in _USER_INFO.finditer(url or ""):
        user, _, password = match.group(1).partition(":")
        found += [part for part in (password, user) if part and len(part) >= 4]
    return found


def credentials(api_key: Any = None, url: str | None = None) -> list[str]:
    """The secrets to mask in text about one endpoint: its API key (a ``SecretStr`` or text) and the
    user name and password written into its URL."""
    key = api_key.get_secret_value() if hasattr(api_key, "get_secret_value") else api_key
    return ([str(key)] if key else []) + url_secrets(url)


def mask_url_credentials(url: str | None) -> str | None:
    """``url`` with any ``user:password@`` replaced by ``***@``, for repr, dumps and messages."""
    return _URL_CREDENTIALS.sub(r"\1***@", url) if url else url


def host_and_port(url: str | None) -> tuple[str | None, int | None]:
    """The host and port of a URL, never its user name or password."""
    if not url:
        return None, None
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port
    except ValueError:
        return None, None


def safe_url(url: str | None) -> str | None:
    """A URL fit for a log line: scheme, host, port and path, without user info or query."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else netloc + parts.path
