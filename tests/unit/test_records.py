"""The shared readers and error wording: line numbers, byte-order marks, bad lines, the limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from oyster_agents import _safe_load
from oyster_agents._records import (
    Record,
    describe_errors,
    document_records,
    error_lines,
    jsonl_records,
    line_of,
    read_document,
    read_objects,
    read_text,
)
from oyster_agents.errors import ConfigError, InputError

BOM = b"\xef\xbb\xbf"


# ---- JSON Lines --------------------------------------------------------------------------------------
def test_jsonl_records_number_every_line_and_skip_blank_ones():
    data = BOM + b'{"a": 1}\r\n\n  \n[2]\n"x\xe2\x80\xa8y"\n{"torn": '
    assert list(jsonl_records(data)) == [
        Record(line=1, value={"a": 1}),
        Record(line=4, value=[2]),
        Record(line=5, value="x\u2028y"),  # U+2028 inside a string ends no record
        Record(line=6, error="invalid JSON: Expecting value (line 1, column 10)", terminated=False),
    ]


def test_jsonl_records_word_each_bad_line_and_go_on():
    deep = b"[" * (_safe_load.MAX_DEPTH + 1) + b"]" * (_safe_load.MAX_DEPTH + 1)
    data = b'{"id": "\xff"}\n' + deep + b"\nNaN\n" + b'"' + b"x" * 40 + b'"\n{"ok": true}\n'
    records = list(jsonl_records(data, max_bytes=30))
    assert [(r.line, r.error) for r in records] == [
        (1, "not valid UTF-8 text (byte 8)"),
        (2, "the line is 131 bytes, over the limit of 30 bytes per record"),
        (3, "NaN is not a JSON number; use a finite number"),
        (4, "the line is 43 bytes, over the limit of 30 bytes per record"),
        (5, None),
    ]
    assert records[-1].value == {"ok": True}
    assert [r.error for r in jsonl_records(deep + b"\n")] == [f"nested deeper than {_safe_load.MAX_DEPTH} levels"]


def test_the_record_limit_is_read_when_reading(monkeypatch):
    monkeypatch.setattr(_safe_load, "MAX_RECORD_BYTES", 10)
    assert [r.error for r in jsonl_records(b'"0123456789"\n')] == [
        "the line is 13 bytes, over the limit of 10 bytes per record"]


def test_document_records_read_one_document_a_list_or_json_lines():
    pretty = BOM + b"\n\n" + json.dumps({"id": "t"}, indent=2).encode()
    assert list(document_records(pretty)) == [Record(line=3, value={"id": "t"}, whole=True)]
    assert list(document_records(b' [{"id": 1}, 7]')) == [
        Record(line=1, value={"id": 1}, index=0, whole=True), Record(line=1, value=7, index=1, whole=True)]
    lines = list(document_records(b'{"id": 1}\n{"id": 2\n'))
    assert [(r.line, r.value, r.error, r.whole) for r in lines] == [
        (1, {"id": 1}, None, False), (2, None, "invalid JSON: Expecting ',' delimiter (line 1, column 9)", False)]
    assert list(document_records(b"")) == [] and list(document_records(b"42\n")) == [Record(line=1, value=42)]


def test_read_objects_yields_objects_and_names_the_first_bad_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(BOM + b'{"a": 1}\n\n{"b": 2}')
    assert list(read_objects(path)) == [(1, {"a": 1}), (3, {"b": 2})]
    path.write_bytes(b'{"a": 1}\n[1, 2]\n')
    with pytest.raises(InputError) as info:
        list(read_objects(path, expected="a rule object"))
    assert str(info.value) == f"{path}:2: expected a rule object, got list"
    path.write_bytes(b'{"a": 1}\n{"a": \n')
    with pytest.raises(ConfigError) as info:
        list(read_objects(path, where="rules.jsonl", error=ConfigError))
    assert str(info.value) == "rules.jsonl:2: invalid JSON: Expecting value (line 1, column 7)"
    with pytest.raises(InputError) as info:
        list(read_objects(tmp_path / "missing.jsonl"))
    assert str(info.value) == f"cannot read {tmp_path / 'missing.jsonl'}: No such file or directory"


# ---- whole documents ---------------------------------------------------------------------------------
def test_read_text_drops_the_bom_and_refuses_a_large_or_non_utf8_file(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_bytes(BOM + b"a: 1\n")
    assert read_text(path, max_bytes=100) == "a: 1\n"
    with pytest.raises(_safe_load.ReadError, match=r"^8 bytes, over the limit of 7$"):
        read_text(path, max_bytes=7)
    path.write_bytes(b"a: \xc3\n")
    with pytest.raises(_safe_load.ReadError, match=r"^not valid UTF-8 text \(byte 3\)$"):
        read_text(path, max_bytes=100)


@pytest.mark.parametrize("name,content,message", [
    ("c.yaml", b"a: 1\nb: [1, 2\n", "{path}:3: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    ("c.yaml", b"a: 1\nb: 2\na: 3\n", "{path}:3: duplicate key 'a'"),
    ("c.yaml", b"a: &x 1\nb: [" + b", ".join([b"*x"] * 101) + b"]\n", "{path}:2: more than 100 YAML aliases"),
    ("c.json", b'{\n  "a": 1,\n  "a": 2\n}', "{path}: duplicate key 'a'"),
    ("c.json", b'{\n  "a": 1,\n}', "{path}:3: invalid JSON: Expecting property name enclosed in double quotes (line 3, column 1)"),
    ("c.json", b"\xff", "policy file {path} is not valid UTF-8 text (byte 0)"),
    ("c.yaml", b"x" * 1001, "policy file {path} is 1,001 bytes, over the limit of 1,000: keep it short"),
])
def test_read_document_names_file_and_line(name, content, message, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_document(path, what="policy file", error=ConfigError, max_bytes=1000, size_hint=": keep it short")
    assert str(info.value) == message.format(path=path)


def test_read_document_returns_the_text_and_the_value(tmp_path):
    (tmp_path / "c.json").write_text('{"a": [1, 2]}', encoding="utf-8")
    assert read_document(tmp_path / "c.json", what="x", error=ConfigError) == ('{"a": [1, 2]}', {"a": [1, 2]})
    with pytest.raises(ConfigError, match="^cannot read config file .*missing.yaml: No such file or directory$"):
        read_document(tmp_path / "missing.yaml", what="config file", error=ConfigError)


# ---- validation errors -------------------------------------------------------------------------------
class _Loop(BaseModel):
    max_steps: int = Field(ge=1)
    name: str


class _Config(BaseModel):
    tags: list[int] = []
    loop: _Loop


TEXT = "tags:\n  - 1\n  - two\nloop:\n  max_steps: 0\n"


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        _Config.model_validate(data)
    return info.value


def test_describe_errors_words_each_error_as_field_path_and_message():
    exc = _error({"tags": [1, "two"], "loop": {"max_steps": 0}})
    assert describe_errors(exc) == (
        "tags.1: Input should be a valid integer, unable to parse string as an integer; "
        "loop.max_steps: Input should be greater than or equal to 1; loop.name: Field required")
    assert describe_errors(exc, limit=1) == "tags.1: Input should be a valid integer, unable to parse string as an integer"
    assert describe_errors(_error([1]), root="record") == "record: Input should be a valid dictionary or instance of _Config"


def test_error_lines_give_the_line_of_each_field_in_the_file():
    exc = _error({"tags": [1, "two"], "loop": {"max_steps": 0}})
    assert error_lines(exc, "c.yaml", TEXT) == [
        "c.yaml:3: tags.1: Input should be a valid integer, unable to parse string as an integer",
        "c.yaml:5: loop.max_steps: Input should be greater than or equal to 1",
        "c.yaml:4: loop.name: Field required",  # missing: the line of the enclosing mapping
    ]
    assert error_lines(exc, "c.yaml", None, limit=1) == [
        "tags.1: Input should be a valid integer, unable to parse string as an integer"]
    assert error_lines(exc, "c.yaml", "loop: {}\n", limit=1, field=lambda loc: f"<{loc[0]}>") == [
        "<tags>: Input should be a valid integer, unable to parse string as an integer"]  # not in the text: no line


def test_line_of_follows_keys_and_indexes_in_yaml_and_json():
    assert line_of(TEXT, ("loop", "max_steps")) == 5
    assert line_of(TEXT, ("tags", 1)) == 3
    assert line_of(TEXT, ("loop", "name")) is None and line_of(TEXT, ("loop", "name"), missing=True) == 4
    assert line_of('{\n "a": [\n  1,\n  {"b": 2}\n ]\n}', ("a", 1, "b")) == 4
    assert line_of("a: [", ("a",)) is None


def test_the_view_reads_a_record_nested_too_deep_as_an_error_entry(tmp_path):
    from oyster_agents.view.load import load_entries

    path = tmp_path / "t.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n[1]\n", encoding="utf-8")
    assert [(e.label, e.error) for e in load_entries([path])] == [
        ("t.jsonl:1", f"nested deeper than {_safe_load.MAX_DEPTH} levels"), ("t.jsonl:2", "not a JSON object")]
