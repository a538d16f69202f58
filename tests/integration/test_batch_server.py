"""Batch runs against a local OpenAI-compatible server: SIGKILL and resume, real overlap of
requests, per-role model names (LoRA adapters on vLLM), retries, a server that is down, bad lines.

The server (``tests/_servers.py``) answers with schema-valid JSON after a set latency, so these
tests exercise the HTTP path, the concurrency and the crash safety, not a model's wisdom.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oyster_agents import OysterConfig
from oyster_agents.runner import run_batch
from oyster_agents.schemas import RunTrace
from tests._servers import OpenAICompatServer

pytestmark = pytest.mark.integration

TAG = re.compile(r"household question (\d+)")
LOOP = {"candidates": 2, "max_steps": 1}
# Two assessment calls (category, then its rule adapted), the unguided answer and the chain extracted
# from it, K strategies, K×3 simulations, then iterate 0 judged: two critics and three predicted reactions.
CALLS_PER_QUERY = 2 + 1 + 1 + 2 + 2 * 3 + 2 + 3


def _queries(n: int) -> list[dict]:
    return [{"id": f"h{i}", "query": f"A household question {i}: how do I store bleach safely?"} for i in range(n)]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _role(base_url: str, **settings: object) -> dict:
    return {"backend": "openai", "base_url": base_url, "model": "base-model", "max_tokens": 64,
            "max_retries": 2, "retry_backoff_s": 0.05, **settings}


def _config(base_url: str, **settings: object) -> OysterConfig:
    return OysterConfig(roles={"default": _role(base_url, **settings)}, loop=LOOP)


def _oyster(*args: str) -> list[str]:
    return [sys.executable, "-m", "oyster_agents.cli", "batch", *args]


def _tag(request) -> str:
    match = TAG.search(request.user_text)
    return match.group(1) if match else "?"


def _overlap_across_queries(requests) -> bool:
    ordered = sorted(requests, key=lambda r: r.start)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.start >= a.end:
                break
            if _tag(a) != _tag(b):
                return True
    return False


def _wait_for_lines(proc: subprocess.Popen, out: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while not out.exists() or out.read_bytes().count(b"\n") < n:
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.05)


@pytest.mark.slow
def test_ctrl_c_then_sigkill_then_resume_gives_every_id_exactly_once(tmp_path):
    src = _write(tmp_path / "in.jsonl", _queries(16))
    out = tmp_path / "out.jsonl"
    with OpenAICompatServer(latency_s=0.15, models=("base-model",)) as server:
        args = _oyster(str(src), "--out", str(out), "--concurrency", "2", "--backend", "openai",
                       "--base-url", server.base_url, "--model", "base-model", "--candidates", "2", "--max-steps", "1")
        # 1. Ctrl-C: a clean stop, whole lines only, exit code 130.
        # A suite started in the background (`cmd &` in a script) ignores SIGINT, and children inherit
        # that: give the batch the default disposition, as a terminal's foreground job has.
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        _wait_for_lines(proc, out, 2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()[-3000:]
        assert "interrupted: " in err.decode() and "rerun to resume" in err.decode()
        stopped = _read(out)
        assert 2 <= len(stopped) < 16
        # 2. SIGKILL in the middle of the resumed run.
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait_for_lines(proc, out, len(stopped) + 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed = _read(out)
        assert len(stopped) + 3 <= len(killed) < 16, "the kill should land in the middle of the run"
        # A kill can also land inside a write; emulate that torn line so resume must cut it off.
        with out.open("ab") as handle:
            handle.write(json.dumps(killed[0])[:57].encode())
        # 3. Resume to the end.
        done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    records = _read(out)
    ids = [r["id"] for r in records]
    assert sorted(ids) == sorted(q["id"] for q in _queries(16)) and len(ids) == len(set(ids))
    assert ids[: len(killed)] == [r["id"] for r in killed]  # finished work was kept, not redone
    for record in records:
        RunTrace.model_validate(record)
    assert "partly written last line" in done.stderr
    assert f"{len(killed)} of 16 already in" in done.stderr
    assert "query/s" in done.stderr or "s/query" in done.stderr  # the progress bar
    assert "done: " in done.stderr


def test_queries_overlap_on_the_server_only_with_concurrency(tmp_path):
    src = _write(tmp_path / "in.jsonl", _queries(6))
    with OpenAICompatServer(latency_s=0.1, models=("base-model",)) as server:
        summary = run_batch(src, tmp_path / "c1.jsonl", config=_config(server.base_url), concurrency=1)
        sequential = server.completed()
        server.requests.clear()
        summary4 = run_batch(src, tmp_path / "c4.jsonl", config=_config(server.base_url), concurrency=4)
        concurrent = server.completed()
        peak4 = server.max_overlap()
    assert summary.ok == summary4.ok == 6
    assert len(sequential) == len(concurrent) == 6 * CALLS_PER_QUERY
    assert not _overlap_across_queries(sequential)  # one query at a time (its own fan-out still overlaps)
    assert _overlap_across_queries(concurrent)
    assert peak4 > 2 * 3  # more calls in flight than one query's widest fan-out (K×3 = 6)


def test_per_role_models_such_as_lora_adapters_reach_the_server(tmp_path):
    src = _write(tmp_path / "in.jsonl", _queries(2))
    with OpenAICompatServer(models=("base-model", "safety-lora")) as server:
        config = OysterConfig(
            roles={"default": _role(server.base_url), "safety_critic": _role(server.base_url, model="safety-lora")},
            loop=LOOP,
        )
        summary = run_batch(src, tmp_path / "out.jsonl", config=config, concurrency=2)
        requests = server.completed()
    assert summary.ok == 2
    lora = [r for r in requests if r.model == "safety-lora"]
    assert len(lora) == 2 and {r.model for r in requests} == {"base-model", "safety-lora"}
    assert all(r.body["response_format"]["type"] == "json_schema" for r in lora)  # vLLM structured outputs
    assert any("response_format" not in r.body for r in requests)  # the responder writes free text


def test_queries_are_spread_round_robin_over_several_endpoints(tmp_path):
    src = _write(tmp_path / "in.jsonl", _queries(6))
    with OpenAICompatServer(models=("base-model",)) as one, OpenAICompatServer(models=("base-model",)) as two:
        config = _config(f"{one.base_url}, {two.base_url}")
        summary = run_batch(src, tmp_path / "out.jsonl", config=config, concurrency=3)
        tags_one = {_tag(r) for r in one.completed()}
        tags_two = {_tag(r) for r in two.completed()}
    assert summary.ok == 6
    assert len(tags_one) == len(tags_two) == 3 and not tags_one & tags_two  # each query stays on one endpoint


def test_server_errors_are_retried_with_backoff(tmp_path):
    src = _write(tmp_path / "in.jsonl", _queries(2))
    with OpenAICompatServer(fail_first=3, models=("base-model",)) as server:
        summary = run_batch(src, tmp_path / "out.jsonl", config=_config(server.base_url, max_retries=3), concurrency=1)
        statuses = [r.status for r in server.requests]
    assert summary.ok == 2 and summary.failed == 0
    assert statuses[:3] == [500, 500, 500] and statuses.count(200) == 2 * CALLS_PER_QUERY


def test_dropped_connections_are_retried_too(tmp_path):
    src = _write(tmp_path / "in.jsonl", _queries(1))
    with OpenAICompatServer(truncate_first=1, models=("base-model",)) as server:
        summary = run_batch(src, tmp_path / "out.jsonl", config=_config(server.base_url, max_retries=2), concurrency=1)
    assert summary.ok == 1 and summary.failed == 0


def test_a_structured_reply_cut_at_max_tokens_is_repaired_not_fatal(tmp_path):
    with OpenAICompatServer(finish_reason="length", models=("base-model",)) as server:
        summary = run_batch(_queries(1), tmp_path / "out.jsonl", config=_config(server.base_url), concurrency=1)
    assert summary.ok == 1, _read(tmp_path / "out.jsonl")


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_server_that_is_down_is_reported_clearly(tmp_path):
    src = _write(tmp_path / "in.jsonl", _queries(8))
    url = _closed_port_url()
    out = tmp_path / "out.jsonl"
    cli = subprocess.run(
        _oyster(str(src), "--out", str(out), "--backend", "openai", "--base-url", url, "--model", "m",
                "--set", "roles.default.max_retries=1", "--set", "roles.default.retry_backoff_s=0.05", "--no-progress"),
        capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 1  # a backend that is down is a run-time failure, not a usage error
    assert f"the server at {url} does not answer" in cli.stderr and "role=risk_assessor" in cli.stderr
    # Without the up-front check, each query fails after its retries and the run stops after a streak.
    summary = run_batch(src, out, config=_config(url, max_retries=1), check_servers=False,
                        concurrency=1, max_consecutive_failures=3)
    records = _read(out)
    assert summary.aborted and len(records) == 3
    error = records[0]["error"]
    # The assessment and the unguided answer start together: either may be the first to fail.
    assert (error["type"], error["model"]) == ("BackendError", "base-model")
    assert error["role"] in {"risk_assessor", "responder"}
    assert error["attempts"] >= 1 and "Connection" in error["message"]


def test_bad_input_lines_are_reported_and_the_rest_runs(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps(_queries(1)[0]) + "\n{broken\n" + json.dumps({"id": "x"}) + "\n" + json.dumps(_queries(2)[1]) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    with OpenAICompatServer(models=("base-model",)) as server:
        cli = subprocess.run(
            _oyster(str(src), "--out", str(out), "--backend", "openai", "--base-url", server.base_url,
                    "--model", "base-model", "--candidates", "2", "--max-steps", "1", "--no-progress"),
            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
        )
    assert cli.returncode == 1, cli.stderr
    assert f"{src}:2: skipped: invalid JSON" in cli.stderr
    assert f"{src}:3: skipped: query: Field required" in cli.stderr
    assert sorted(r["id"] for r in _read(out)) == ["h0", "h1"]
    assert "2 bad input lines" in cli.stderr
