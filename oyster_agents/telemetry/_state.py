"""The process-wide switch: the active ``Tracing`` or ``None``. Stdlib only, so importing it is free."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oyster_agents.telemetry.spans import Tracing

_active: Tracing | None = None


def active() -> Tracing | None:
    """The tracing set up by ``configure_tracing``, or ``None`` when tracing is off."""
    return _active


def set_active(tracing: Tracing | None) -> None:
    """Switch tracing on (a ``Tracing``) or off (``None``)."""
    global _active
    _active = tracing
