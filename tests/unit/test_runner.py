"""run_batch on scripted models: ids exactly once, resume, error records, abort, concurrency, cancel."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import pytest

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import minimal_instance, scripted_models
from oyster_agents.errors import ConfigError, InputError
from oyster_agents.runner import arun_batch, exit_code, run_batch, stable_id
from oyster_agents.runner.jsonl import JsonlWriter
from oyster_agents.schemas import RunTrace

CONFIG = OysterConfig(
    roles={"default": {"backend": "fake", "max_retries": 1, "retry_backoff_s": 0.0}},
    loop={"candidates": 2, "max_steps": 1},
)
QUERY_TAG = re.compile(r"question number (\d+)")


def _queries(n: int) -> list[dict]:
    return [{"query": f"Practical question number {i} about home safety?", "id": f"q{i}"} for i in range(n)]


def _write_input(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_query_gets_exactly_one_validated_trace(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(6) + [{"query": "no id here"}])
    summary = run_batch(src, out, config=CONFIG, models=scripted_models(), concurrency=3)
    records = _records(out)
    ids = [r["id"] for r in records]
    assert sorted(ids) == sorted([f"q{i}" for i in range(6)] + [stable_id("no id here")])
    for record in records:
        trace = RunTrace.model_validate(record)
        assert trace.query and trace.answer and trace.usage.total.calls >= 1 + 2 + 6 + 3
    assert (summary.ok, summary.failed, summary.skipped, summary.total) == (7, 0, 0, 7)
    assert summary.complete and exit_code(summary) == 0


def test_rerun_skips_finished_ids_and_cuts_a_torn_tail(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(5))
    run_batch(src, out, config=CONFIG, models=scripted_models(), concurrency=2)
    first = _records(out)
    kept = first[:2]
    torn = json.dumps(first[2])[:40]  # a kill in the middle of writing the third record
    out.write_text("".join(json.dumps(r) + "\n" for r in kept) + torn, encoding="utf-8")
    models = scripted_models()
    notes: list[str] = []
    summary = run_batch(src, out, config=CONFIG, models=models, concurrency=2, notify=notes.append)
    ids = [r["id"] for r in _records(out)]
    assert sorted(ids) == [f"q{i}" for i in range(5)] and len(ids) == len(set(ids))
    assert ids[:2] == [kept[0]["id"], kept[1]["id"]]
    assert (summary.skipped, summary.ok) == (2, 3)
    assert summary.dropped_tail_bytes == len(torn.encode())
    assert any("partly written" in n for n in notes)
    assert len(models["risk_assessor"].calls) == 6  # 3 assessments of 2 calls: the skipped queries did not run again
    again = run_batch(src, out, config=CONFIG, models=scripted_models())
    assert (again.skipped, again.ok) == (5, 0) and len(_records(out)) == 5


def test_a_failing_backend_gives_error_records_with_role_model_attempts(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(3))
    models = scripted_models({"safety_critic": [ConnectionError("connection refused")]})
    summary = run_batch(src, out, config=CONFIG, models=models, concurrency=2, max_consecutive_failures=None)
    records = _records(out)
    assert len(records) == 3 and all(r["status"] == "error" for r in records)
    error = records[0]["error"]
    assert error["type"] == "BackendError"
    assert (error["role"], error["model"], error["attempts"]) == ("safety_critic", "scripted", 2)
    assert "connection refused" in error["message"]
    assert records[0]["query"].startswith("Practical question") and records[0]["line"] >= 1
    assert (summary.ok, summary.failed) == (0, 3) and exit_code(summary) == 1


def test_retry_errors_reruns_failed_ids_and_replaces_their_records(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(4))
    flaky = scripted_models({"responder": [ConnectionError("down")]})
    run_batch(src, out, config=CONFIG, models=flaky, concurrency=1, max_consecutive_failures=None)
    assert all(r.get("status") == "error" for r in _records(out))
    plain = run_batch(src, out, config=CONFIG, models=scripted_models())
    assert (plain.skipped, plain.ok) == (4, 0)  # error records count as done unless asked
    summary = run_batch(src, out, config=CONFIG, models=scripted_models(), retry_errors=True)
    records = _records(out)
    assert (summary.ok, summary.skipped) == (4, 0)
    assert sorted(r["id"] for r in records) == [f"q{i}" for i in range(4)]
    assert not any(r.get("status") == "error" for r in records)


def test_too_many_failures_in_a_row_stop_the_run(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(30))
    models = scripted_models({"risk_assessor": [ConnectionError("refused")]})
    summary = run_batch(src, out, config=CONFIG, models=models, concurrency=2, max_consecutive_failures=4)
    assert summary.aborted and "4 queries in a row failed" in summary.aborted and "refused" in summary.aborted
    assert 4 <= len(_records(out)) < 30 and summary.remaining > 0
    assert exit_code(summary) == 3


def test_a_config_error_stops_the_run_instead_of_writing_records(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(3))
    models = scripted_models({"strategist": [ConfigError("model folder missing")]})
    with pytest.raises(ConfigError, match="model folder missing"):
        run_batch(src, out, config=CONFIG, models=models)
    assert out.read_text() == ""
    JsonlWriter(out).close()  # the lock was released


class _Overlap:
    """Scripted reply that records which queries have a model call in flight."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.active: dict[str, int] = {}
        self.peak_queries = 0
        self.lock = threading.Lock()

    def __call__(self, messages, schema):
        text = " ".join(str(m.content) for m in messages)
        match = QUERY_TAG.search(text)
        key = match.group(1) if match else "?"
        with self.lock:
            self.active[key] = self.active.get(key, 0) + 1
            self.peak_queries = max(self.peak_queries, sum(1 for v in self.active.values() if v))
        time.sleep(self.delay)
        with self.lock:
            self.active[key] -= 1
        return json.dumps(minimal_instance(schema)) if schema else "<think>ok</think>An answer."


@pytest.mark.parametrize("concurrency", [1, 4])
def test_queries_run_concurrently_up_to_the_limit(tmp_path, concurrency):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(8))
    probe = _Overlap(delay=0.02)
    models = scripted_models({role: [probe] for role in ("risk_assessor", "strategist", "user_simulator", "responder",
                                                           "safety_critic", "satisfaction_critic", "reviser")})
    summary = run_batch(src, out, config=CONFIG, models=models, concurrency=concurrency)
    assert summary.ok == 8
    if concurrency == 1:
        assert probe.peak_queries == 1
    else:
        assert 2 <= probe.peak_queries <= concurrency


def test_cancel_leaves_whole_lines_and_a_resumable_file(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(20))
    probe = _Overlap(delay=0.01)
    models = scripted_models({"responder": [probe]})

    async def run_and_cancel():
        task = asyncio.create_task(arun_batch(src, out, config=CONFIG, models=models, concurrency=2))
        while not out.exists() or out.read_text().count("\n") < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_and_cancel())
    partial = _records(out)  # every line parses: nothing torn
    assert 3 <= len(partial) < 20
    summary = run_batch(src, out, config=CONFIG, models=scripted_models(), concurrency=4)
    ids = [r["id"] for r in _records(out)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(20)) and len(set(ids)) == 20
    assert summary.skipped == len(partial)


def test_output_locked_by_another_run_is_refused(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(1))
    with JsonlWriter(out):
        with pytest.raises(InputError, match="another run"):
            run_batch(src, out, config=CONFIG, models=scripted_models())
    with pytest.raises(InputError, match="must differ"):
        run_batch(src, src, config=CONFIG, models=scripted_models())


def test_run_batch_works_inside_a_running_event_loop(tmp_path):
    out = tmp_path / "out.jsonl"

    async def notebook_cell():
        return run_batch(_queries(2), out, config=CONFIG, models=scripted_models())

    summary = asyncio.run(notebook_cell())
    assert summary.ok == 2 and len(_records(out)) == 2


def test_run_batch_is_exported_lazily_from_the_package():
    import oyster_agents

    assert oyster_agents.run_batch is run_batch


def test_every_model_call_of_a_query_carries_its_record_id_in_the_run_metadata(tmp_path):
    from langchain_core.callbacks import BaseCallbackHandler

    seen: list[tuple[str, str]] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized, messages, *, metadata=None, **kwargs):
            text = messages[0][-1].text
            seen.append(((metadata or {}).get("oyster_record_id"), text))

    models = scripted_models()
    for model in models.values():
        model.callbacks = [Recorder()]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, _queries(3))
    run_batch(src, out, config=CONFIG, models=models, concurrency=3)
    assert {record_id for record_id, _ in seen} == {"q0", "q1", "q2"}
    # Each call is tagged with its own query, though the three run at once.
    for record_id, text in seen:
        tags = set(QUERY_TAG.findall(text))
        assert tags <= {record_id[1:]}, (record_id, tags)
    assert sum(bool(QUERY_TAG.search(text)) for _, text in seen) >= 3
