"""Schema 1.0 traces (no per-iterate game, origin, policy rule or selection reason) still read."""

from __future__ import annotations

import json
from pathlib import Path

from oyster_agents.distill.rows import RowOptions, preference_rows, sft_rows
from oyster_agents.distill.traces import read_traces
from oyster_agents.eval.records import EvalItem, ItemRecord, Suite
from oyster_agents.eval.report import build_report
from oyster_agents.eval.records import read_records
from oyster_agents.schemas import RunTrace

FIXTURE = Path(__file__).parent / "fixtures" / "trace_v1_0.json"


def test_the_fixture_is_a_1_0_trace_without_any_1_1_field():
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert data["schema_version"] == "1.0"
    assert not {"selection_reason", "policy_rule_id", "policy_rule", "boundary_limit"} & set(data)
    assert all(not {"origin", "game", "answer_tokens"} & set(it) for it in data["iterates"])


def test_distill_reads_a_1_0_trace_and_builds_rows_from_it(tmp_path):
    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(json.loads(FIXTURE.read_text(encoding="utf-8"))) + "\n", encoding="utf-8")
    traces, problems = read_traces([path])
    assert problems == [] and len(traces) == 1
    trace = traces[0].trace
    assert trace.schema_version == "1.0" and trace.policy_rule_id is None and trace.boundary_limit is None
    assert [(it.origin, it.game, it.answer_tokens) for it in trace.iterates] == [("guided", None, 0)] * 2
    [sft] = sft_rows(traces, RowOptions())
    assert sft["messages"][-1]["content"].endswith("Please don't use alcohol; use light clothing and fluids.")
    [pair] = preference_rows(traces, RowOptions())
    assert pair["rejected"][-1]["content"].endswith("Rub her with alcohol.")


def test_eval_reads_an_items_file_whose_graph_trace_is_1_0(tmp_path):
    trace = json.loads(FIXTURE.read_text(encoding="utf-8"))
    item = EvalItem(id="c1", suite=Suite.CONSTRUCTIVE, query=trace["query"], category="healthcare", level="R1")
    row = ItemRecord(target="graph", target_spec="graph=graph", suite=Suite.CONSTRUCTIVE, item=item,
                     answer=trace["answer"], trace=trace)
    (tmp_path / "items.jsonl").write_text(row.model_dump_json() + "\n", encoding="utf-8")
    [record] = read_records(tmp_path / "items.jsonl")
    assert RunTrace.model_validate(record.trace).best.answer == trace["answer"]
    report = build_report(tmp_path)
    assert report.is_file() and "graph" in report.read_text(encoding="utf-8")
