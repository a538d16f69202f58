"""Backend faults against a real OpenAI-compatible server on localhost that the test controls.

Each fault class runs a small batch (``run_batch``, the openai backend over HTTP) and counts, from
the output file, runs started and completed (a trace or an error record), records lost and
records duplicated. Transient faults must be retried to success; a query that keeps failing must
become an error record naming role, model and attempts while the other queries finish.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from oyster_agents import OysterConfig
from oyster_agents.game.selection import select_iterate
from oyster_agents.runner import run_batch
from oyster_agents.schemas import Iterate
from tests._servers import OpenAICompatServer
from tests.integration._serve import free_port
from tests.reliability._helpers import NO_CONVERGENCE, read_jsonl, tally

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODEL = "base-model"
SERVER = "OpenAI-compatible server on localhost"
RETRIES = 4
# Two assessor calls (classify, adapt), 1 strategy, 3 simulations of it, the unguided answer, its
# chain extraction, and for that iterate two critics and 3 simulated reactions.
CALLS_PER_QUERY = 2 + 1 + 3 + 1 + 1 + 2 + 3


def _config(base_url: str, *, loop: dict[str, Any] | None = None, **role: Any) -> OysterConfig:
    settings = {"backend": "openai", "base_url": base_url, "model": MODEL, "max_tokens": 64,
                "max_retries": RETRIES, "retry_backoff_s": 0.05, "timeout_s": 5.0, **role}
    return OysterConfig(roles={"default": settings}, loop={"candidates": 1, "max_steps": 1, **(loop or {})})


def _queries(n: int, poison: int | None = None) -> list[dict[str, str]]:
    return [{"id": f"q{i}", "query": f"Household question {i}: how do I store bleach safely?"
             + (" POISON" if i == poison else "")} for i in range(n)]


def _poisoned(body: dict[str, Any], n: int) -> str | None:
    return "fail" if any("POISON" in str(m.get("content", "")) for m in body.get("messages", [])) else None


FAULTS: dict[str, dict[str, Any]] = {
    "HTTP 500 on the first 6 calls": {"server": {"fail_first": 6}},
    "HTTP 429 rate limit on the first 4 calls": {"server": {"fail_first": 4, "fail_status": 429}},
    "truncated bodies (connection drops mid-reply)": {"server": {"truncate_first": 6}},
    "empty bodies": {"server": {"empty_first": 6}},
    "calls stalling past timeout_s": {"server": {"stall_first": 3, "stall_s": 20.0}, "role": {"timeout_s": 0.5}},
    "slow server (150 ms a call, under timeout_s)": {"server": {"latency_s": 0.15}},
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_transient_faults_are_retried_and_every_query_completes(fault, tmp_path, ledger):
    spec = FAULTS[fault]
    queries = _queries(6)
    out = tmp_path / "out.jsonl"
    with OpenAICompatServer(models=(MODEL,), **spec["server"]) as server:
        summary = run_batch(queries, out, config=_config(server.base_url, **spec.get("role", {})), concurrency=3)
        requests = len(server.requests)
    figures = tally([q["id"] for q in queries], read_jsonl(out))
    ledger.record("faults", fault, backend=SERVER, **figures)
    assert figures == {"started": 6, "completed": 6, "ok": 6, "errors": 0, "lost": 0, "duplicated": 0}
    assert summary.complete
    injected = sum(spec["server"].get(k, 0) for k in ("fail_first", "truncate_first", "empty_first", "stall_first"))
    assert requests >= 6 * CALLS_PER_QUERY + injected  # the faults really happened, and were retried


def test_a_query_that_keeps_failing_becomes_an_error_record_and_the_others_finish(tmp_path, ledger):
    queries = _queries(5, poison=2)
    out = tmp_path / "out.jsonl"
    with OpenAICompatServer(models=(MODEL,), behaviour=_poisoned) as server:
        summary = run_batch(queries, out, config=_config(server.base_url), concurrency=2)
    records = read_jsonl(out)
    figures = tally([q["id"] for q in queries], records)
    ledger.record("faults", "one query answered HTTP 500 on every call", backend=SERVER, **figures)
    assert figures == {"started": 5, "completed": 5, "ok": 4, "errors": 1, "lost": 0, "duplicated": 0}
    assert summary.ok == 4 and summary.failed == 1
    (error,) = [r for r in records if r.get("status") == "error"]
    assert error["id"] == "q2"
    assert error["error"]["type"] == "BackendError"
    # The graph's first calls, side by side: the risk assessor's and the unguided answer's.
    assert error["error"]["role"] in {"risk_assessor", "responder"}
    assert error["error"]["model"] == MODEL
    assert error["error"]["attempts"] == RETRIES + 1
    assert "500" in error["error"]["message"]


def test_a_stalled_server_meets_the_query_deadline_not_the_call_timeout(tmp_path, ledger):
    """timeout_s is 30 s, but the query's deadline (1.5 s) cuts every call short. The first calls,
    both stalled, are the risk assessor's and the unguided answer's, made side by side: the error
    names whichever one the deadline cut first."""
    queries = _queries(3)
    out = tmp_path / "out.jsonl"
    started = time.monotonic()
    with OpenAICompatServer(models=(MODEL,), stall_first=1000, stall_s=60.0) as server:
        config = _config(server.base_url, loop={"deadline_s": 1.5}, timeout_s=30.0)
        run_batch(queries, out, config=config, concurrency=3)
    elapsed = time.monotonic() - started
    records = read_jsonl(out)
    figures = tally([q["id"] for q in queries], records)
    ledger.record("faults", "server stalls every call; deadline_s=1.5 with timeout_s=30", backend=SERVER, **figures)
    assert figures["completed"] == 3 and figures["errors"] == 3 and figures["lost"] == figures["duplicated"] == 0
    for record in records:
        assert record["error"]["type"] == "DeadlineExceededError"
        assert record["error"]["role"] in {"risk_assessor", "responder"} and record["error"]["model"] == MODEL
    assert elapsed < 10.0


def test_a_slow_server_and_a_deadline_end_each_query_at_its_best_iterate(tmp_path, ledger):
    queries = _queries(3)
    out = tmp_path / "out.jsonl"
    with OpenAICompatServer(models=(MODEL,), latency_s=0.2) as server:
        config = _config(server.base_url, loop={"deadline_s": 3.0, "max_steps": 10, **NO_CONVERGENCE})
        run_batch(queries, out, config=config, concurrency=3)
    records = read_jsonl(out)
    figures = tally([q["id"] for q in queries], records)
    ledger.record("faults", "slow server (200 ms a call) with deadline_s=3 and 10 steps allowed", backend=SERVER, **figures)
    assert figures == {"started": 3, "completed": 3, "ok": 3, "errors": 0, "lost": 0, "duplicated": 0}
    for trace in records:
        assert 1 <= len(trace["iterates"]) < 10
        # The iterate returned is the one the selection rule picks among those finished in time.
        selection = select_iterate([Iterate.model_validate(it) for it in trace["iterates"]])
        assert (trace["best_iterate"], trace["selection_reason"]) == (selection.index, selection.reason)
        assert not selection.use_fallback_answer
        assert trace["answer"] == trace["iterates"][trace["best_iterate"]]["answer"]
        assert any(f["role"] == "lingo_bp" and f["kind"] == "deadline" for f in trace["fallbacks"])
        assert trace["usage"]["wall_seconds"] < 3.0 + 2.0


def _wait_ready(base_url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"test server at {base_url} did not start")


def _warm_up(base_url: str) -> None:
    """One chat request, so the server process has imported what its replies need."""
    request = urllib.request.Request(
        f"{base_url}/chat/completions", data=b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200


def test_server_killed_mid_run_and_restarted_loses_nothing(tmp_path, ledger):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests._servers", "--port", str(port), "--latency", "0.1", "--model", MODEL],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    queries = _queries(8)
    out = tmp_path / "out.jsonl"
    events: dict[str, Any] = {}

    def kill_then_restart() -> None:
        while not out.exists() or len(read_jsonl(out)) < 2:  # mid-run: some queries are done
            time.sleep(0.05)
        events["done_at_kill"] = len(read_jsonl(out))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(1.5)  # down for a while: in-flight calls failed, new ones are refused
        events["server"] = OpenAICompatServer(models=(MODEL,), latency_s=0.1, port=port).start()

    try:
        _wait_ready(base_url)
        _warm_up(base_url)
        chaos = threading.Thread(target=kill_then_restart, daemon=True)
        chaos.start()
        config = _config(base_url, max_retries=8, retry_backoff_s=0.2)
        summary = run_batch(queries, out, config=config, concurrency=2)
        chaos.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        if "server" in events:
            events["server"].stop()
    figures = tally([q["id"] for q in queries], read_jsonl(out))
    ledger.record("faults", "server SIGKILLed mid-run, restarted 1.5 s later", backend=SERVER, **figures)
    assert events["done_at_kill"] < 8  # the kill happened while queries were still running
    assert len(events["server"].requests) > 0  # the rest was served by the restarted server
    assert figures == {"started": 8, "completed": 8, "ok": 8, "errors": 0, "lost": 0, "duplicated": 0}
    assert summary.complete
