"""Read records from files and word what is wrong with them, the same way for every file the package reads.

On top of the limits of :mod:`oyster_agents._safe_load`:

- :func:`read_document` reads a YAML or JSON file (a config, a policy) and :func:`jsonl_records`,
  :func:`document_records` and :func:`read_objects` read JSON Lines, each record with its line number;
- every problem reads ``file:line: message``, and a pydantic ``ValidationError`` reads
  ``field.path: message`` (:func:`describe_errors`), with the file's line where the text is at hand
  (:func:`error_lines`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

from pydantic import ValidationError

from oyster_agents import _safe_load
from oyster_agents._safe_load import MAX_DEPTH, ReadError
from oyster_agents.errors import InputError, OysterError

TOP_LEVEL = "(top level)"


def located(where: object, line: int | None, message: str) -> str:
    """``where:line: message``, or ``where: message`` when the line is unknown."""
    return f"{where}:{line}: {message}" if line else f"{where}: {message}"


# ---- validation errors -------------------------------------------------------------------------------
def field_path(loc: Sequence[str | int], root: str = TOP_LEVEL) -> str:
    """A pydantic error location as ``roles.default.model`` (``root`` for the whole object)."""
    return ".".join(str(part) for part in loc) or root


def describe_errors(exc: ValidationError, *, limit: int | None = None, root: str = TOP_LEVEL) -> str:
    """``field.path: message`` for each of the first ``limit`` errors, joined by ``"; "``."""
    return "; ".join(f"{field_path(err['loc'], root)}: {err['msg']}" for err in exc.errors()[:limit])


def error_lines(
    exc: ValidationError,
    where: object,
    text: str | None,
    *,
    limit: int | None = None,
    field: Callable[[tuple[str | int, ...]], str] = field_path,
) -> list[str]:
    """One ``where:line: field.path: message`` per error; ``field.path: message`` when the field is not
    in ``text`` (a value from the environment or a default) or there is no text.

    Args:
        exc: the validation error of data parsed from ``text``.
        where: the file, as the message names it.
        text: the file's YAML or JSON text.
        limit: at most this many errors.
        field: names a location (e.g. with the ``id`` of a list item).
    """
    out = []
    for err in exc.errors()[:limit]:
        line = line_of(text, err["loc"], missing=err["type"] == "missing") if text is not None else None
        problem = f"{field(err['loc'])}: {err['msg']}"
        out.append(located(where, line, problem) if line is not None else problem)
    return out


def line_of(text: str, loc: Sequence[str | int], *, missing: bool = False) -> int | None:
    """The 1-based line of the value at ``loc`` (mapping keys and list indexes) in a YAML or JSON text.

    Args:
        text: the file's text (JSON is YAML too).
        loc: the field path, as in a pydantic error's ``loc``.
        missing: the field is absent (a "field required" error): give the line of the nearest
            enclosing mapping or list that is present instead.

    Returns:
        The line, or None when the path is not in the text or the text does not parse.
    """
    node: Any = _compose(text)
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            return line if missing else None
        line, node = child
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


# ---- whole documents ---------------------------------------------------------------------------------
class TooLargeError(ReadError):
    """A file over its size limit."""


def read_text(path: str | Path, *, max_bytes: int) -> str:
    """The UTF-8 text of a file (without a byte-order mark), holding at most ``max_bytes + 1`` bytes.

    Raises:
        OSError: the file cannot be read.
        TooLargeError: the file is over ``max_bytes``.
        ReadError: the file is not UTF-8.
    """
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            size = os.fstat(handle.fileno()).st_size
            raise TooLargeError(f"{size:,} bytes, over the limit of {max_bytes:,}")
    return _safe_load.decode_utf8(data)


def parse_document(text: str, *, is_json: bool) -> Any:
    """One JSON or YAML document within the limits; a repeated key is refused in both.

    Raises:
        ReadError: a syntax error or a limit, with its line where known (YAML syntax errors included).
    """
    if is_json:
        return _safe_load.loads_json(text, reject_duplicates=True)
    import yaml

    try:
        return _safe_load.load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReadError(f"invalid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None) from None


def read_document(
    path: str | Path, *, what: str, error: type[OysterError], max_bytes: int | None = None, size_hint: str = "",
) -> tuple[str, Any]:
    """Read and parse a YAML or JSON file (JSON by its ``.json`` suffix); returns ``(text, value)``.

    Args:
        path: the file.
        what: what the file is, for messages ("config file").
        error: the error to raise.
        max_bytes: the size limit (default :data:`~oyster_agents._safe_load.MAX_CONFIG_BYTES`).
        size_hint: said after the size-limit message (what to do about it).

    Raises:
        error: ``cannot read {what} {path}: ...``, ``{what} {path} is ...`` (too large, not UTF-8) or
            ``{path}:{line}: ...`` (syntax, depth, aliases, a repeated key).
    """
    try:
        text = read_text(path, max_bytes=_safe_load.MAX_CONFIG_BYTES if max_bytes is None else max_bytes)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ReadError as exc:
        hint = size_hint if isinstance(exc, TooLargeError) else ""
        raise error(f"{what} {path} is {exc.message}{hint}") from None
    try:
        return text, parse_document(text, is_json=Path(path).suffix.lower() == ".json")
    except ReadError as exc:
        raise error(located(path, exc.line, exc.message)) from None


# ---- JSON Lines --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One record of a file: its value, or why it cannot be read.

    Attributes:
        line: 1-based line number (for a whole-file document: the line it starts on).
        value: the decoded JSON value (None when ``error`` is set).
        error: why the record cannot be read (not UTF-8, not JSON, too deep, too long).
        terminated: the line ends with a newline (false only for a last line, e.g. one torn by a kill).
        index: the item's position when the file is one JSON list; None otherwise.
        whole: the record is the file's whole JSON document or an item of it, not a line.
    """

    line: int
    value: Any = None
    error: str | None = None
    terminated: bool = True
    index: int | None = None
    whole: bool = False


class _Opens(Protocol):
    def open(self, mode: str) -> IO[bytes]: ...


def jsonl_records(source: IO[bytes] | bytes, *, max_bytes: int | None = None,
                  max_depth: int = MAX_DEPTH) -> Iterator[Record]:
    """Each non-blank line of a JSON Lines file, numbered from 1, as a :class:`Record`.

    A byte-order mark, ``\\r\\n`` line ends and a last line without ``\\n`` are accepted. Only ``\\n``
    ends a record (U+2028 inside a string does not). A line is held in memory only up to ``max_bytes``
    (default :data:`~oyster_agents._safe_load.MAX_RECORD_BYTES`).
    """
    limit = _safe_load.MAX_RECORD_BYTES if max_bytes is None else max_bytes
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    for line in _safe_load.iter_lines(handle, max_bytes=limit):
        if line.data is not None and not line.data.strip():
            continue
        try:
            value = _safe_load.parse_line(line, max_bytes=limit, max_depth=max_depth)
        except ReadError as exc:
            yield Record(line=line.number, error=exc.message, terminated=line.terminated)
        else:
            yield Record(line=line.number, value=value, terminated=line.terminated)


def document_records(data: bytes) -> Iterator[Record]:
    """The records of a file that is either one JSON document (an object, or a list of records) or
    JSON Lines: a pretty-printed trace, a list of traces, or a batch output all read the same way."""
    stripped = data.lstrip()
    if stripped.startswith(_safe_load.BOM.encode("utf-8")):
        stripped = stripped[3:].lstrip()
    if stripped[:1] in (b"[", b"{"):
        try:
            whole = _safe_load.loads_json(data)
        except ReadError:
            pass  # JSON Lines, or a broken document reported line by line
        else:
            first = data[: len(data) - len(stripped)].count(b"\n") + 1
            if isinstance(whole, list):
                for index, item in enumerate(whole):
                    yield Record(line=first, value=item, index=index, whole=True)
            else:
                yield Record(line=first, value=whole, whole=True)
            return
    yield from jsonl_records(data)


def read_objects(source: str | Path | _Opens, *, where: object = None, expected: str = "a JSON object",
                 error: type[OysterError] = InputError) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for each line of a JSON Lines file whose every line must be a JSON object.

    Args:
        source: the file (a path, or a packaged resource).
        where: the file as messages name it (default: ``source``).
        expected: what a line must hold, for the message when it holds something else.
        error: the error to raise.

    Raises:
        error: ``cannot read {where}: ...``, or ``{where}:{line}: ...`` for the first bad line.
    """
    where = source if where is None else where
    try:
        handle = Path(source).open("rb") if isinstance(source, str) else source.open("rb")
    except OSError as exc:
        raise error(f"cannot read {where}: {exc.strerror or exc}") from None
    with handle:
        for record in jsonl_records(handle):
            if record.error is not None:
                raise error(located(where, record.line, record.error))
            if not isinstance(record.value, dict):
                raise error(located(where, record.line, f"expected {expected}, got {type(record.value).__name__}"))
            yield record.line, record.value
