"""Errors raised by oyster-agents. Each message says what to do next."""

from __future__ import annotations


class OysterError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(OysterError):
    """Raised while building: bad configuration, policy file or missing model."""


class InputError(OysterError):
    """Raised for a query or input record that cannot be processed (empty, oversized, undecodable)."""


class BackendError(OysterError):
    """A model backend kept failing after retries with backoff."""

    def __init__(self, message: str, *, role: str, model: str, attempts: int) -> None:
        super().__init__(f"{message} (role={role}, model={model}, attempts={attempts})")
        self.role = role
        self.model = model
        self.attempts = attempts


class MalformedOutputError(OysterError):
    """A model kept producing output that does not fit the expected schema, after re-asks."""

    def __init__(self, message: str, *, role: str, raw: str, attempts: int) -> None:
        super().__init__(f"{message} (role={role}, attempts={attempts})")
        self.role = role
        self.raw = raw
        self.attempts = attempts


class DeadlineExceededError(OysterError):
    """The query's deadline (``loop.deadline_s``) passed before any Lingo-BP iterate was scored.

    Once an iterate exists, a deadline never raises: the run ends with the best iterate so far.
    """

    def __init__(self, message: str, *, role: str | None = None, model: str | None = None,
                 attempts: int | None = None) -> None:
        where = ", ".join(f"{k}={v}" for k, v in (("role", role), ("model", model), ("attempts", attempts)) if v is not None)
        super().__init__(f"{message} ({where})" if where else message)
        self.role = role
        self.model = model
        self.attempts = attempts


class GameInputError(OysterError, ValueError):
    """The game solver was given numbers it cannot use (not finite, out of range, or missing)."""
