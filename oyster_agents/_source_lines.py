"""Line numbers for validation errors: where a field sits in a YAML or JSON file.

Config and policy loaders validate parsed data with pydantic, whose errors name a field path
(``loop.max_steps``) but not a line. :func:`line_of` walks the file's YAML node tree (JSON is
YAML too) along that path and returns the line, so an error can read ``oyster.yaml:7: loop.max_steps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any


def line_of(text: str, loc: Sequence[str | int], *, missing: bool = False) -> int | None:
    """The 1-based line of the value at ``loc`` (mapping keys and list indexes) in ``text``.

    Args:
        text: the file's YAML or JSON text.
        loc: the field path, as in a pydantic error's ``loc``.
        missing: the field is absent (a "field required" error): give the line of the nearest
            enclosing mapping or list that is present instead.

    Returns:
        The line, or None when the path is not in the file (a value from elsewhere, such as an
        environment variable) or the text does not parse.
    """
    node: Any = _compose(text)
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            return line if missing else None
        key_line, node = child
        line = key_line
    return line


@lru_cache(maxsize=2)
def _compose(text: str) -> Any:
    """The YAML node tree of ``text`` (None when it does not parse), composed once for all its errors.

    Only text that already passed the bounded reader arrives here, so depth and aliases are limited.
    """
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def _child(node: Any, part: str | int) -> tuple[int, Any] | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key.start_mark.line + 1, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None
