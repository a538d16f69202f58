"""Errors raised by oyster-agents. Each message says what to do next."""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendError",
    "ConfigError",
    "DeadlineExceededError",
    "GameInputError",
    "InputError",
    "MalformedOutputError",
    "OysterError",
]


class OysterError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(OysterError):
    """Raised while building: bad configuration, policy file or missing model."""


class InputError(OysterError):
    """Raised for a query or input record that cannot be processed (empty, oversized, undecodable)."""


class _CallError(OysterError):
    """An error about a role's model calls; the message ends with the details it names, in parentheses."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        shown = ", ".join(f"{key}={value}" for key, value in details.items())
        super().__init__(f"{message} ({shown})" if shown else message)


class BackendError(_CallError):
    """A model backend kept failing after retries with backoff."""

    def __init__(self, message: str, *, role: str, model: str, attempts: int) -> None:
        super().__init__(message, {"role": role, "model": model, "attempts": attempts})
        self.role, self.model, self.attempts = role, model, attempts


class MalformedOutputError(_CallError):
    """A model kept producing output that does not fit the expected schema, after re-asks."""

    def __init__(self, message: str, *, role: str, raw: str, attempts: int) -> None:
        super().__init__(message, {"role": role, "attempts": attempts})
        self.role, self.raw, self.attempts = role, raw, attempts


class DeadlineExceededError(_CallError):
    """The query's deadline (``loop.deadline_s``) passed before any Lingo-BP iterate was scored.

    Once an iterate exists, a deadline never raises: the run ends with the best iterate so far.
    """

    def __init__(self, message: str, *, role: str | None = None, model: str | None = None,
                 attempts: int | None = None) -> None:
        given = {"role": role, "model": model, "attempts": attempts}
        super().__init__(message, {key: value for key, value in given.items() if value is not None})
        self.role, self.model, self.attempts = role, model, attempts


class GameInputError(OysterError, ValueError):
    """The game solver was given numbers it cannot use (not finite, out of range, or missing)."""
