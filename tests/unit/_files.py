"""A bad input file and the error its loader must raise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def load_error(load: Callable[[Path], object], path: Path, text: str, error: type[Exception]) -> str:
    """Write ``text`` to ``path``, load it, and return the message of the ``error`` the loader must raise."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as info:
        load(path)
    return str(info.value)
