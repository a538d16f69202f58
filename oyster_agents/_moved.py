"""Deprecated aliases: a module-level ``__getattr__`` that forwards a moved name and warns where it went."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


def moved_names(module: str, targets: Mapping[str, str | ModuleType]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module`` whose names now live elsewhere.

    Args:
        module: the old module's name (``__name__``).
        targets: old name → ``"new.module"`` (same name), ``"new.module:new_name"``, or the new
            module itself (same name).

    Example:
        >>> __getattr__ = moved_names(__name__, {"run_batch_ray": "oyster_agents.runner.ray"})
    """

    def __getattr__(name: str) -> Any:
        target = targets.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        if isinstance(target, ModuleType):
            target = target.__name__
        new_module, _, new_name = target.partition(":")
        new_name = new_name or name
        warnings.warn(
            f"{module}.{name} moved to {new_module}.{new_name}; import it from there "
            "(the old name will be removed in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_module), new_name)

    return __getattr__
