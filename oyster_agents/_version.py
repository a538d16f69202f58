"""The package version, read from the installed distribution's metadata (one source: pyproject.toml)."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "oyster-agents"


@lru_cache(maxsize=1)
def package_version() -> str:
    """The installed version of oyster-agents, or ``0+unknown`` for a source tree that was never installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
