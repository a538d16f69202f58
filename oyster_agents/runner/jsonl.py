"""Crash-safe JSONL output: one record per line, each appended with a single write and fsynced.

A hard kill can leave at most one torn line at the end of the file (the one being written). On
open, :func:`open_output` locks the file against a second writer, cuts that torn tail off and
returns the ids already present, so a rerun skips them: nothing is lost, nothing appears twice.
A last line that lacks only its ``\n`` (a file edited by hand) is a complete record: it is kept and
its newline added. Lines are read with the limits of :mod:`oyster_agents._safe_load`.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oyster_agents import _safe_load
from oyster_agents.errors import InputError

OK = "ok"
ERROR = "error"


def jsonl_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text. Only ``"\n"`` ends a record: ``str.splitlines()`` would also cut
    at U+2028 or U+0085 inside a JSON string."""
    return text.split("\n")


@dataclass
class OutputScan:
    """What an existing output file holds.

    Attributes:
        status: record id → ``"ok"`` or ``"error"`` for every complete record.
        dropped_tail_bytes: size of the torn last line that was cut off (0 when the file was clean).
        bad_lines: line numbers of complete lines that are not a JSON object with a string ``id``.
        duplicate_ids: ids found on more than one line (only possible if the file was edited by hand).
    """

    status: dict[str, str] = field(default_factory=dict)
    dropped_tail_bytes: int = 0
    bad_lines: list[int] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)

    def ids_with(self, status: str) -> set[str]:
        """The ids whose record has this status."""
        return {key for key, value in self.status.items() if value == status}


def record_status(record: Mapping[str, Any]) -> str:
    """``"error"`` for an error record, ``"ok"`` for a trace."""
    return ERROR if record.get("status") == ERROR else OK


def scan_output(path: str | Path, *, repair: bool = True) -> OutputScan:
    """Read the ids of an output file, cutting off a torn last line when ``repair`` is true.

    A missing file scans as empty.
    """
    path = Path(path)
    scan = OutputScan()
    if not path.exists():
        return scan
    good_end = 0
    missing_newline = False
    with path.open("rb") as handle:
        for line in _safe_load.iter_lines(handle):
            try:
                record = _safe_load.parse_line(line)
            except _safe_load.ReadError:
                record = None
            if not line.terminated:
                if not _is_record(record):  # torn write: the process died inside this line
                    scan.dropped_tail_bytes = line.size
                    break
                missing_newline = True
            good_end += line.size
            if record is None:
                scan.bad_lines.append(line.number)
                continue
            key = record.get("id") if isinstance(record, dict) else None
            if not isinstance(key, str) or not key:
                scan.bad_lines.append(line.number)
                continue
            if key in scan.status:
                scan.duplicate_ids.append(key)
                continue
            scan.status[key] = record_status(record)
    if scan.dropped_tail_bytes and repair:
        with path.open("r+b") as handle:
            handle.truncate(good_end)
            handle.flush()
            os.fsync(handle.fileno())
    elif missing_newline and repair:
        with path.open("ab") as handle:
            handle.write(b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    return scan


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str) and bool(value["id"])


class JsonlWriter:
    """Appends records to a JSONL file: one ``write`` per line, fsynced, one writer at a time.

    Holds an exclusive ``flock`` on the file while open, so two runs cannot interleave lines.

    Raises:
        InputError: another process holds the file, or it cannot be opened.
    """

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._fd: int | None = self._open_locked(self.path)

    @staticmethod
    def _open_locked(path: Path) -> int:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"cannot open output file {path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise InputError(
                f"{path} is being written by another run; wait for it to finish or choose another --out"
            ) from exc
        return fd

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._fd is None

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record as one line and make it durable before returning."""
        if self._fd is None:
            raise ValueError(f"writer for {self.path} is closed")
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:  # os.write may write less than asked (signals, pipes)
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fsync(self._fd)

    def drop_error_records(self, ids: Iterable[str]) -> int:
        """Remove the error records with these ids by rewriting the file atomically; returns how many went.

        The new file replaces the old one with ``os.replace``; the lock moves to the new file.
        """
        if self._fd is None:
            raise ValueError(f"writer for {self.path} is closed")
        doomed = set(ids)
        if not doomed:
            return 0
        removed = 0
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as tmp, self.path.open("rb") as src:
                for raw in src:
                    key = _error_id(raw)
                    if key is not None and key in doomed:
                        removed += 1
                        continue
                    tmp.write(raw)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, self.path)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        _fsync_dir(self.path.parent)
        old, self._fd = self._fd, self._open_locked(self.path)
        os.close(old)
        return removed

    def close(self) -> None:
        """Release the lock and close the file (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_output(path: str | Path, *, fsync: bool = True, retry_errors: bool = False) -> tuple[JsonlWriter, OutputScan]:
    """Lock ``path``, repair a torn tail and return the writer plus what the file already holds.

    Args:
        path: the output JSONL file (created if missing).
        fsync: make every record durable before the next one is written.
        retry_errors: remove error records first, so their ids run again.
    """
    writer = JsonlWriter(path, fsync=fsync)
    try:
        scan = scan_output(path, repair=True)
        if retry_errors:
            errors = scan.ids_with(ERROR)
            if errors:
                writer.drop_error_records(errors)
                for key in errors:
                    del scan.status[key]
    except BaseException:
        writer.close()
        raise
    return writer, scan


def _error_id(raw: bytes) -> str | None:
    try:
        record = _safe_load.loads_json(raw)
    except _safe_load.ReadError:
        return None
    if isinstance(record, dict) and record.get("status") == ERROR and isinstance(record.get("id"), str):
        return record["id"]
    return None


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse O_RDONLY on directories.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
