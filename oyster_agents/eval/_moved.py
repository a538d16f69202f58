"""Deprecated aliases for names that moved to another eval module: a module-level ``__getattr__``."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


def moved(old_module: str, new_homes: Mapping[str, ModuleType]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that serves each moved name from its new module, with a ``DeprecationWarning``.

    Args:
        old_module: the deprecated module's dotted name (its ``__name__``).
        new_homes: name → the module it now lives in.
    """

    def __getattr__(name: str) -> Any:
        home = new_homes.get(name)
        if home is None:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warnings.warn(f"{old_module}.{name} moved to {home.__name__}.{name}; import it from there "
                      f"({old_module} will be removed in the next release)", DeprecationWarning, stacklevel=2)
        return getattr(home, name)

    return __getattr__
