"""The eval runner with scripted fakes: a tiny graph-target run, per-item rows, resume, error rows."""

from __future__ import annotations

import json

import pytest

from oyster_agents.config import OysterConfig
from oyster_agents.errors import InputError
from oyster_agents.eval.loaders import load_constructive, select
from oyster_agents.eval.records import ITEMS_FILE, EvalItem, ItemRecord, Suite, read_records
from oyster_agents.eval.run import run_eval
from oyster_agents.eval.targets import parse_target

CONFIG = OysterConfig(loop={"max_steps": 1, "candidates": 2})
SAFE = json.dumps({"verdict": "safe", "explanation": "Protective only.", "suggestion": "Keep it."})
RUBRIC = json.dumps({"scores": {"empathy": 1, "willingness_to_help": 1, "task_completion": 1, "relevance": 1,
                                "informativeness": 0}})


def _suites() -> dict[Suite, list[EvalItem]]:
    strata = [EvalItem(id=f"s{i}", suite=Suite.STRATA_SWORD, query=f"attack {i}", level="L1", language="en",
                       attack_method="None") for i in range(2)]
    return {Suite.CONSTRUCTIVE: select(load_constructive(), 3), Suite.STRATA_SWORD: strata}


def _judge(fake_models):
    return fake_models({"safety_critic": [SAFE], "satisfaction_critic": [RUBRIC]},
                       roles=["safety_critic", "satisfaction_critic"])


def test_graph_target_run_writes_rows_report_and_resumes(tmp_path, fake_models):
    out = tmp_path / "eval"
    run = run_eval(_suites(), [parse_target("graph")], out, config=CONFIG, models=fake_models(),
                   judge_models=_judge(fake_models), progress=False, concurrency=2)
    assert (run.written, run.skipped, run.errors) == (5, 0, 0)
    records = read_records(out / ITEMS_FILE)
    assert len(records) == 5 and {r.target for r in records} == {"graph"}
    by_id = {r.item.id: r for r in records}
    first = by_id["cs-mental_health-r0"]
    assert first.answer and first.trace["id"] == "cs-mental_health-r0"
    assert first.verdicts.safety.explanation == "Protective only." and first.verdicts.satisfaction.score == 0.8
    assert by_id["s0"].verdicts.satisfaction is None and by_id["s0"].verdicts.safety.verdict.value == "safe"
    assert run.report == out / "report.md" and (out / "report.html").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["graph"]["constructive"]["headline"] == pytest.approx(80.0)
    assert summary["graph"]["strata-sword"]["overall"]["asr"] == 0.0

    again = run_eval(_suites(), [parse_target("graph")], out, config=CONFIG, models=fake_models(),
                     judge_models=_judge(fake_models), progress=False, report=False)
    assert (again.written, again.skipped) == (0, 5)
    assert len(read_records(out / ITEMS_FILE)) == 5


def test_failed_items_become_error_rows_and_are_retried(tmp_path, fake_models):
    def flaky(messages, schema):
        if "attack 1" in str(messages[-1].content):
            raise ValueError("responder crashed")
        return "<think>ok</think>A careful answer."

    out = tmp_path / "eval"
    suites = {Suite.STRATA_SWORD: _suites()[Suite.STRATA_SWORD]}
    run = run_eval(suites, [parse_target("graph")], out, config=CONFIG, models=fake_models({"responder": [flaky]}),
                   judge_models=_judge(fake_models), progress=False)
    assert (run.written, run.errors) == (2, 1)
    failed = [r for r in read_records(out / ITEMS_FILE) if r.error]
    assert len(failed) == 1 and failed[0].item.id == "s1" and "responder crashed" in failed[0].error
    assert "1 items failed" in (out / "report.md").read_text()

    retry = run_eval(suites, [parse_target("graph")], out, config=CONFIG, models=fake_models(),
                     judge_models=_judge(fake_models), progress=False)
    assert (retry.written, retry.skipped, retry.errors) == (1, 1, 0)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["graph"]["strata-sword"]["errors"] == 0 and summary["graph"]["strata-sword"]["overall"]["judged"] == 2


def test_two_targets_side_by_side(tmp_path, fake_models):
    out = tmp_path / "eval"
    suites = {Suite.CONSTRUCTIVE: select(load_constructive(), 2)}
    run = run_eval(suites, [parse_target("teacher=graph"), parse_target("copy=graph")], out, config=CONFIG,
                   models=fake_models(), judge_models=_judge(fake_models), progress=False)
    assert run.written == 4 and set(run.per_target_seconds) == {"teacher", "copy"}
    report = (out / "report.md").read_text()
    assert "| β | teacher | copy |" in report


def test_duplicate_labels_are_rejected(tmp_path):
    with pytest.raises(InputError, match="labelled"):
        run_eval({}, [parse_target("graph"), parse_target("graph")], tmp_path, config=CONFIG)


def test_read_records_skips_a_torn_last_line_only(tmp_path):
    row = ItemRecord(target="t", target_spec="t", suite=Suite.XSTEST,
                     item=EvalItem(id="1", suite=Suite.XSTEST, query="q", label="safe"))
    path = tmp_path / ITEMS_FILE
    path.write_text(row.model_dump_json() + "\n" + row.model_dump_json()[:40], encoding="utf-8")
    assert len(read_records(path)) == 1
    path.write_text("garbage\n" + row.model_dump_json() + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=":1: not an eval record"):
        read_records(path)


def test_a_torn_last_line_is_cut_before_appending(tmp_path, fake_models):
    out = tmp_path / "eval"
    suites = {Suite.STRATA_SWORD: _suites()[Suite.STRATA_SWORD]}
    run_eval({Suite.STRATA_SWORD: suites[Suite.STRATA_SWORD][:1]}, [parse_target("graph")], out, config=CONFIG,
             models=fake_models(), judge_models=_judge(fake_models), progress=False, report=False)
    path = out / ITEMS_FILE
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"target": "graph", "suite": "strata-')  # a run killed inside a write
    run = run_eval(suites, [parse_target("graph")], out, config=CONFIG, models=fake_models(),
                   judge_models=_judge(fake_models), progress=False, report=False)
    assert (run.written, run.skipped) == (1, 1)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and [ItemRecord.model_validate_json(x).item.id for x in lines] == ["s0", "s1"]
