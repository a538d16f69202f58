"""The crash-safe JSONL output: torn tails, bad lines, locking, atomic removal of error records."""

from __future__ import annotations

import json

import pytest

from oyster_agents.errors import InputError
from oyster_agents.runner.jsonl import JsonlWriter, open_output, scan_output


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_writer_appends_one_line_per_record(tmp_path):
    out = tmp_path / "out.jsonl"
    with JsonlWriter(out) as writer:
        writer.write({"id": "a", "answer": "é ✓"})
        writer.write({"id": "b", "status": "error", "error": {"type": "X", "message": "boom"}})
    assert [r["id"] for r in _lines(out)] == ["a", "b"]
    assert out.read_bytes().endswith(b"\n")
    scan = scan_output(out)
    assert scan.status == {"a": "ok", "b": "error"}
    assert scan.dropped_tail_bytes == 0


def test_torn_last_line_is_cut_off_and_writing_continues_cleanly(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "a"}\n{"id": "b"}\n{"id": "c", "answ')
    writer, scan = open_output(out)
    with writer:
        assert set(scan.status) == {"a", "b"}
        assert scan.dropped_tail_bytes == len(b'{"id": "c", "answ')
        writer.write({"id": "c", "answer": "whole"})
    assert [r["id"] for r in _lines(out)] == ["a", "b", "c"]


def test_a_complete_record_without_newline_is_kept_and_its_newline_added(tmp_path):
    # A file edited by hand often lacks the final newline; the record is whole, so it is not run again.
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "a"}\n{"id": "b"}')
    scan = scan_output(out, repair=False)
    assert set(scan.status) == {"a", "b"} and scan.dropped_tail_bytes == 0
    assert out.read_bytes().endswith(b'{"id": "b"}')  # repair=False leaves the file alone
    scan_output(out)
    assert out.read_bytes() == b'{"id": "a"}\n{"id": "b"}\n'


def test_an_unterminated_last_line_that_is_not_a_record_is_cut(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "a"}\n{"no_id": 1}')
    scan = scan_output(out)
    assert set(scan.status) == {"a"} and scan.dropped_tail_bytes == len(b'{"no_id": 1}')
    assert out.read_bytes() == b'{"id": "a"}\n'


def test_bad_and_duplicate_lines_are_reported_not_counted(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a"}\nnot json\n[1, 2]\n{"no_id": 1}\n{"id": "a", "status": "error"}\n', encoding="utf-8")
    scan = scan_output(out)
    assert scan.status == {"a": "ok"}
    assert scan.bad_lines == [2, 3, 4]
    assert scan.duplicate_ids == ["a"]


def test_missing_file_scans_empty(tmp_path):
    scan = scan_output(tmp_path / "nope.jsonl")
    assert scan.status == {} and scan.dropped_tail_bytes == 0


def test_second_writer_is_refused_while_the_first_holds_the_file(tmp_path):
    out = tmp_path / "out.jsonl"
    with JsonlWriter(out):
        with pytest.raises(InputError, match="another run"):
            JsonlWriter(out)
    JsonlWriter(out).close()  # released on close


def test_retry_errors_removes_error_records_atomically_and_keeps_the_lock(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(
        '{"id": "a"}\n{"id": "b", "status": "error"}\n{"id": "c"}\n{"id": "d", "status": "error"}\n', encoding="utf-8"
    )
    writer, scan = open_output(out, retry_errors=True)
    with writer:
        assert scan.status == {"a": "ok", "c": "ok"}
        assert [r["id"] for r in _lines(out)] == ["a", "c"]
        writer.write({"id": "b"})  # goes to the new file, not the replaced one
        with pytest.raises(InputError):
            JsonlWriter(out)
    assert [r["id"] for r in _lines(out)] == ["a", "c", "b"]
    assert not list(tmp_path.glob(".*.tmp"))
