"""Bounded readers for untrusted JSON, JSON Lines and YAML: every file reader of the package uses these.

Limits (module constants, documented in docs/reliability.md):

- nesting deeper than :data:`MAX_DEPTH` levels is refused (``json`` and PyYAML recurse, so a 2 KB
  record 1,000 levels deep would otherwise raise ``RecursionError``);
- a JSON Lines record over :data:`MAX_RECORD_BYTES` is refused without being held in memory whole;
- YAML aliases: at most :data:`MAX_YAML_ALIASES`, and the document as expanded (aliases counted
  every time they are used) at most :data:`MAX_YAML_EXPANDED` characters, so a few hundred bytes of
  nested aliases cannot grow into gigabytes once a value is copied or serialised;
- ``NaN``, ``Infinity`` and integers of more than 4,300 digits are not JSON here;
- a UTF-8 byte-order mark at the start of a file is dropped.

Each reader raises :class:`ReadError` (a ``ValueError``) with a message and, where known, the line;
callers add the file name and turn it into their own error or a per-record problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

MAX_DEPTH = 64
MAX_RECORD_BYTES = 16 * 2**20
MAX_CONFIG_BYTES = 2**20
MAX_YAML_ALIASES = 100
MAX_YAML_EXPANDED = 4 * MAX_CONFIG_BYTES
BOM = "\ufeff"


class ReadError(ValueError):
    """Input that cannot be read within the limits. ``line`` is 1-based (None when unknown)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def strip_bom(text: str) -> str:
    """``text`` without a leading byte-order mark."""
    return text[1:] if text.startswith(BOM) else text


def decode_utf8(data: bytes) -> str:
    """UTF-8 bytes as text, without a leading byte-order mark.

    Raises:
        ReadError: the bytes are not UTF-8 (the message gives the byte offset).
    """
    try:
        return strip_bom(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ReadError(f"not valid UTF-8 text (byte {exc.start})") from None


def _no_constant(name: str) -> Any:
    raise ReadError(f"{name} is not a JSON number; use a finite number")


def loads_json(text: str | bytes, *, max_depth: int = MAX_DEPTH, reject_duplicates: bool = False) -> Any:
    """Decode one JSON value within the depth limit; ``NaN`` and ``Infinity`` are refused.

    Raises:
        ReadError: invalid JSON (``line`` set), too deep, a non-finite number or a huge integer.
    """
    if isinstance(text, bytes):
        text = decode_utf8(text)
    hook = _unique_pairs if reject_duplicates else None
    try:
        value = json.loads(strip_bom(text), parse_constant=_no_constant, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        raise ReadError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", exc.lineno) from None
    except RecursionError:
        raise ReadError(f"nested deeper than {max_depth} levels") from None
    except ReadError:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ReadError(f"invalid JSON: {str(exc).split(';')[0]}") from None
    check_depth(value, max_depth)
    return value


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ReadError(f"duplicate key {key!r}")
        out[key] = value
    return out


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`ReadError` when lists and dicts in ``value`` nest deeper than ``max_depth``.

    Iterative, so it is safe on any value (a self-referencing one is reported as too deep).
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        if depth > max_depth:
            raise ReadError(f"nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))


# ---- JSON Lines --------------------------------------------------------------------------------------
@dataclass
class Line:
    """One line of a JSON Lines file.

    Attributes:
        number: 1-based line number.
        data: the line's bytes without its ``\\n`` (and without a leading BOM on line 1); ``None``
            when the line is over the size limit (its bytes were skipped, not kept).
        size: bytes the line takes in the file, its ``\\n`` and any BOM included.
        terminated: the line ends with ``\\n`` (false only for the last line).
    """

    number: int
    data: bytes | None
    size: int
    terminated: bool


def iter_lines(handle: IO[bytes], *, max_bytes: int = MAX_RECORD_BYTES) -> Iterator[Line]:
    """The lines of a binary file, holding at most ``max_bytes`` of one line in memory."""
    number = 0
    while True:
        raw = handle.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        size = len(raw)
        data: bytes | None = raw
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            data = None
            while raw and not raw.endswith(b"\n"):  # skip the rest of the oversized line
                raw = handle.readline(2**20)
                size += len(raw)
        terminated = raw.endswith(b"\n")
        if data is not None:
            if terminated:
                data = data[:-1]
            if number == 1 and data.startswith(BOM.encode("utf-8")):
                data = data[3:]
        yield Line(number=number, data=data, size=size, terminated=terminated)


def parse_line(line: Line, *, max_bytes: int = MAX_RECORD_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of one line.

    Raises:
        ReadError: the line is over the size limit, not UTF-8, not JSON or too deep.
    """
    if line.data is None:
        raise ReadError(f"the line is {line.size:,} bytes, over the limit of {max_bytes:,} bytes per record")
    return loads_json(line.data, max_depth=max_depth)


# ---- YAML --------------------------------------------------------------------------------------------
def load_yaml(text: str, *, max_depth: int = MAX_DEPTH, max_aliases: int = MAX_YAML_ALIASES,
              max_expanded: int = MAX_YAML_EXPANDED, reject_duplicates: bool = True) -> Any:
    """Parse one YAML document with PyYAML's safe loader, within the depth and alias limits.

    Duplicate keys in a mapping are refused (YAML says keys are unique; PyYAML keeps the last).

    Raises:
        ReadError: a limit was passed or a key repeats (``line`` set where known).
        yaml.YAMLError: a syntax error (callers report its mark).
    """
    import re

    # A run of flow openers makes PyYAML's scanner read ahead through all of them (each may start a
    # key), before the composer could stop at the depth limit: refuse such a run from the text.
    run = re.search(r"[\[{](?:\s*[\[{]){%d}" % max_depth, text)
    if run:
        raise ReadError(f"nested deeper than {max_depth} levels", text.count("\n", 0, run.start()) + 1)
    loader = _bounded_loader(max_depth, max_aliases, reject_duplicates)(strip_bom(text))
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ReadError(f"nested deeper than {max_depth} levels") from None
        if node is None:
            return None
        _check_expansion(node, max_depth, max_expanded)
        try:
            return loader.construct_document(node)
        except ReadError:
            raise
        except ValueError as exc:  # an integer of more than 4,300 digits, a malformed timestamp
            raise ReadError(f"a value cannot be read: {str(exc).split(';')[0]}") from None
    finally:
        loader.dispose()


def _bounded_loader(max_depth: int, max_aliases: int, reject_duplicates: bool) -> type:
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        aliases = 0
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > max_aliases:
                    mark = self.peek_event().start_mark
                    raise ReadError(f"more than {max_aliases} YAML aliases", mark.line + 1)
            # Stop at the limit, before the parser reads on (and long before Python's recursion limit).
            self.depth += 1
            try:
                if self.depth > max_depth:
                    raise ReadError(f"nested deeper than {max_depth} levels", self.peek_event().start_mark.line + 1)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if reject_duplicates and isinstance(node, yaml.MappingNode):
                seen: set[tuple[str, str]] = set()
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        raise ReadError(f"duplicate key {key_node.value!r}", key_node.start_mark.line + 1)
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return BoundedLoader


def _check_expansion(root: Any, max_depth: int, max_expanded: int) -> None:
    """Refuse a node graph deeper than ``max_depth`` or larger than ``max_expanded`` once aliases expand."""
    import yaml

    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)

    def measure(node: Any, depth: int) -> tuple[int, int]:
        known = sizes.get(id(node))
        if known is None:
            if depth > max_depth:  # also ends a node that contains itself
                raise ReadError(f"nested deeper than {max_depth} levels", node.start_mark.line + 1)
            if isinstance(node, yaml.ScalarNode):
                known = (len(node.value) + 1, 0)
            else:
                children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
                size, height = 1, 0
                for child in children:
                    child_size, child_height = measure(child, depth + 1)
                    size += child_size
                    height = max(height, child_height + 1)
                    if size > max_expanded:
                        raise ReadError(
                            f"the document expands to more than {max_expanded:,} characters through YAML aliases",
                            node.start_mark.line + 1,
                        )
                known = (size, height)
            sizes[id(node)] = known
        if depth + known[1] > max_depth:
            raise ReadError(f"nested deeper than {max_depth} levels", node.start_mark.line + 1)
        return known

    measure(root, 1)
