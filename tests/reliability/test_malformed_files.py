"""Malformed files: configs, policy files, batch inputs and trace files with bad JSON or YAML,
missing fields or wrong types get an error that names the file, the line and the field.

Batch inputs and trace files report each bad record and go on with the good ones; configs and
policies stop with one error listing every problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
import yaml

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import scripted_models
from oyster_agents.cli import main
from oyster_agents.distill import read_traces
from oyster_agents.errors import ConfigError
from oyster_agents.runner import run_batch
from oyster_agents.taxonomy import load_taxonomy


@dataclass
class Case:
    """A malformed file and what its error must name (``field`` None: a syntax error has none)."""

    name: str
    filename: str
    text: str
    line: int
    field: str | None


CONFIGS = [
    Case("YAML syntax error", "oyster.yaml", "loop:\n  candidates: 2\n  max_steps: [1, 2\n", 4, None),
    Case("JSON syntax error", "oyster.json", '{\n  "loop": {"max_steps": 3,}\n}\n', 2, None),
    Case("wrong type (YAML)", "oyster.yaml", "game:\n  beta: 2\nloop:\n  candidates: 2\n  max_steps: many\n", 5,
         "loop.max_steps"),
    Case("wrong type (JSON)", "oyster.json", '{\n  "loop": {\n    "deadline_s": "soon"\n  }\n}\n', 3, "loop.deadline_s"),
    Case("value out of range", "oyster.yaml", "loop:\n  candidates: 99\n", 2, "loop.candidates"),
    Case("missing field (openai without base_url)", "oyster.yaml", "loop:\n  max_steps: 1\nroles:\n  default:\n"
         "    backend: openai\n", 4, "roles.default"),
    Case("unknown field", "oyster.yaml", "telemetry:\n  exporter: none\nloop:\n  max_stepz: 3\n", 4, "loop.max_stepz"),
    Case("top level is a list", "oyster.yaml", "- loop\n- game\n", 1, None),
]


def _policy_text(mutate) -> str:
    data = yaml.safe_load(resources.files("oyster_agents.taxonomy").joinpath("default.yaml").read_text())
    mutate(data)
    return yaml.safe_dump(data, sort_keys=False)


def _line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[:text.index(needle, start)].count("\n") + 1


def _policies() -> list[Case]:
    no_guideline = _policy_text(lambda d: d["categories"][3].pop("guideline"))
    bad_severity = _policy_text(lambda d: d["categories"][5].update(typical_severity="high"))
    bad_json = json.dumps(yaml.safe_load(_policy_text(lambda d: d["categories"][1].update(id=7))), indent=2)
    return [
        Case("YAML syntax error", "policy.yaml", "name: mine\ncategories: [\n  - id: a\n", 3, None),
        Case("missing field", "policy.yaml", no_guideline,
             _line_of(no_guideline, "- id: cybersecurity"), "categories[3](id=cybersecurity).guideline"),
        Case("wrong type (YAML)", "policy.yaml", bad_severity,
             _line_of(bad_severity, "typical_severity: high"), "categories[5](id=investment_finance).typical_severity"),
        Case("wrong type (JSON)", "policy.json", bad_json, _line_of(bad_json, '"id": 7'), "categories[1](id=7).id"),
        Case("top level is a list", "policy.yaml", "- a\n- b\n", 1, None),
    ]


def _relative(message: str, path: Path) -> str:
    """The message as the report shows it: the file by name, not by its temporary folder."""
    return message.replace(str(path.parent) + "/", "").strip()[:160]


def _check(message: str, case: Case, path: Path, ledger, kind: str) -> None:
    file_named = str(path) in message or path.name in message
    line_named = f"{path.name}:{case.line}:" in message
    field_named = None if case.field is None else case.field in message
    ledger.record("malformed", f"{kind}: {case.name}", file_named=file_named, line_named=line_named,
                  field_named=field_named, message=_relative(message.splitlines()[-1], path))
    assert file_named and line_named, message
    assert field_named in (None, True), message


@pytest.mark.parametrize("case", CONFIGS, ids=[c.name for c in CONFIGS])
def test_malformed_config_names_file_line_and_field(case, tmp_path, ledger):
    path = tmp_path / case.filename
    path.write_text(case.text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        OysterConfig.load(path)
    _check(str(info.value), case, path, ledger, "config")


@pytest.mark.parametrize("case", _policies(), ids=lambda c: c.name)
def test_malformed_policy_names_file_line_and_field(case, tmp_path, ledger):
    path = tmp_path / case.filename
    path.write_text(case.text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    _check(str(info.value), case, path, ledger, "policy")


def test_a_config_value_from_the_environment_is_not_pinned_to_a_file_line(tmp_path, monkeypatch):
    path = tmp_path / "oyster.yaml"
    path.write_text("loop:\n  candidates: 2\n", encoding="utf-8")
    monkeypatch.setenv("OYSTER_LOOP__MAX_STEPS", "many")
    with pytest.raises(ConfigError) as info:
        OysterConfig.load(path)
    assert "  loop.max_steps:" in str(info.value) and "oyster.yaml:2" not in str(info.value)


def test_the_cli_prints_file_line_and_field_and_exits_2(tmp_path, capsys):
    path = tmp_path / "oyster.yaml"
    path.write_text("loop:\n  max_steps: many\n", encoding="utf-8")
    assert main(["run", "hello", "--config", str(path)]) == 2
    assert f"{path}:2: loop.max_steps" in capsys.readouterr().err


BATCH_LINES = [
    ("good line", '{"id": "g1", "query": "How do I store bleach safely?"}', None),
    ("bad JSON", '{"id": "b1", "query": "unterminated}', None),
    ("missing field", '{"id": "b2", "prompt": "the field is called query"}', "query"),
    ("wrong type", '{"id": "b3", "query": 42}', "query"),
    ("wrong type (nested)", '{"id": "b4", "query": "hi", "history": [{"role": "wizard", "content": "x"}]}', "history.0.role"),
    ("not an object", '["a", "list"]', None),
    ("good line", '{"id": "g2", "query": "Is vinegar a disinfectant?"}', None),
]


def test_malformed_batch_lines_are_reported_by_file_line_and_field_and_the_rest_run(tmp_path, ledger):
    path = tmp_path / "queries.jsonl"
    raw = [line.encode("utf-8") for _, line, _ in BATCH_LINES]
    raw.insert(3, b'{"id": "b5", "query": "\xff\xfe"}')  # invalid UTF-8 on line 4
    path.write_bytes(b"\n".join(raw) + b"\n")
    notices: list[str] = []
    summary = run_batch(path, tmp_path / "out.jsonl", models=scripted_models(), notify=notices.append,
                        config=OysterConfig(loop={"candidates": 1, "max_steps": 1}))
    assert summary.ok == 2  # the good lines ran
    cases = [(name, field) for name, _, field in BATCH_LINES]
    cases.insert(3, ("invalid UTF-8", None))
    for number, (name, field) in enumerate(cases, start=1):
        if name == "good line":
            continue
        (notice,) = [n for n in notices if n.startswith(f"{path}:{number}:")]
        field_named = None if field is None else field in notice
        ledger.record("malformed", f"batch input: {name}", file_named=True, line_named=True,
                      field_named=field_named, message=_relative(notice, path))
        assert field_named in (None, True), notice


def _trace_record(tmp_path: Path) -> dict:
    out = tmp_path / "one.jsonl"
    run_batch([{"id": "t1", "query": "hello"}], out, models=scripted_models(),
              config=OysterConfig(loop={"candidates": 1, "max_steps": 1}))
    return json.loads(out.read_text(encoding="utf-8").split("\n")[0])


def test_malformed_trace_records_are_reported_by_file_line_and_field(tmp_path, ledger):
    good = _trace_record(tmp_path)
    no_assessment = {k: v for k, v in good.items() if k != "assessment"}
    wrong_type = {**good, "best_iterate": "zero"}
    lines = [
        ("good trace", json.dumps(good), None),
        ("bad JSON", json.dumps(good)[:200], None),
        ("missing field", json.dumps(no_assessment), "assessment"),
        ("wrong type", json.dumps(wrong_type), "best_iterate"),
        ("error record", json.dumps({"id": "e", "status": "error", "query": "q", "error": {"type": "X", "message": "m"}}), None),
        ("good trace with U+2028 in the answer", json.dumps({**good, "id": "t2", "answer": "a\u2028b"}, ensure_ascii=False), None),
    ]
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(line for _, line, _ in lines) + "\n", encoding="utf-8")
    traces, problems = read_traces([path])
    assert [t.trace.id for t in traces] == ["t1", "t2"]  # the good records are all kept
    by_line = {p.line: str(p) for p in problems}
    for number, (name, _, field) in enumerate(lines, start=1):
        if name.startswith("good trace"):
            assert number not in by_line
            continue
        message = by_line[number]
        field_named = None if field is None else field in message
        ledger.record("malformed", f"trace file: {name}", file_named=str(path) in message,
                      line_named=message.startswith(f"{path}:{number}:"), field_named=field_named,
                      message=_relative(message, path))
        assert message.startswith(f"{path}:{number}:") and field_named in (None, True), message
