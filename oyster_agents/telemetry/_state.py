"""The process-wide switch. Stdlib only, so importing it is free.

Three states: configured (a ``Tracing`` from ``configure_tracing``), automatic (``None``: the
wrappers use the application's global providers when it has set any), and off (after
``disable_tracing``: no spans at all until tracing is configured again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oyster_agents.telemetry.spans import Tracing

_active: Tracing | None = None
_off = False


def active() -> Tracing | None:
    """The tracing set up by ``configure_tracing``, or ``None`` when none is."""
    return _active


def is_off() -> bool:
    """True after ``disable_tracing()``: even the application's global providers are not used."""
    return _off


def set_active(tracing: Tracing | None, *, off: bool = False) -> None:
    """Configure tracing (a ``Tracing``), follow the global providers (``None``) or switch it off."""
    global _active, _off
    _active = tracing
    _off = off and tracing is None
