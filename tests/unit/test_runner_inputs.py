"""Batch input parsing: stable ids, bad lines with line numbers, duplicates."""

from __future__ import annotations

import json

import pytest

from oyster_agents.errors import InputError
from oyster_agents.runner.inputs import load_items, stable_id


def test_stable_id_ignores_key_order_and_whitespace(tmp_path):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text('{"query": "How do I sharpen a knife?", "profile": "cook"}\n', encoding="utf-8")
    b.write_text('{ "profile" : "cook",   "query":"How do I sharpen a knife?" }\n', encoding="utf-8")
    (item_a,), _ = load_items(a, max_query_chars=1000)
    (item_b,), _ = load_items(b, max_query_chars=1000)
    assert item_a.id == item_b.id == stable_id("How do I sharpen a knife?", profile="cook")
    assert item_a.id.startswith("q-")


def test_stable_id_depends_on_query_history_and_profile():
    base = stable_id("q")
    assert stable_id("q") == base
    assert stable_id("q2") != base
    assert stable_id("q", profile="nurse") != base
    assert stable_id("q", history=[{"role": "user", "content": "hi"}]) != base


def test_bad_lines_are_reported_with_line_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": 7, "query": "fine, numeric id"}),
        "",
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "x"}),
        json.dumps({"query": "   "}),
        json.dumps({"query": "bad history", "history": [{"role": "robot", "content": "beep"}]}),
        json.dumps({"id": "7", "query": "same id as line 1"}),
        json.dumps({"query": "too long " * 20}),
        json.dumps({"query": "ok with extras", "label": "kept out of the run"}),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + b'{"query": "\xff"}\n')
    items, problems = load_items(path, max_query_chars=100)
    assert [(i.id, i.line) for i in items] == [("7", 1), (items[1].id, 10)]
    by_line = {p.line: p.reason for p in problems}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 11]
    assert "invalid JSON" in by_line[3]
    assert "JSON object" in by_line[4]
    assert "query" in by_line[5]
    assert "empty" in by_line[6]
    assert "history" in by_line[7]
    assert "duplicate id '7' (first on line 1)" in by_line[8]
    assert "over the limit" in by_line[9]
    assert "UTF-8" in by_line[11]


def test_identical_lines_without_id_are_one_record(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"query": "same"}\n{"query": "same"}\n{"query": "other"}\n', encoding="utf-8")
    items, problems = load_items(path, max_query_chars=100)
    assert len(items) == 2 and [p.line for p in problems] == [2]


def test_iterable_of_dicts_is_accepted():
    items, problems = load_items([{"query": "a"}, {"nope": 1}, {"query": "b", "id": "B"}], max_query_chars=100)
    assert [i.id for i in items][1] == "B" and [p.line for p in problems] == [2]
    assert items[0].graph_input() == {"id": items[0].id, "query": "a", "history": [], "profile": None}


def test_unreadable_input_file_raises(tmp_path):
    with pytest.raises(InputError, match="cannot read input file"):
        load_items(tmp_path / "missing.jsonl", max_query_chars=100)
