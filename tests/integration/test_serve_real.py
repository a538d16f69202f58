"""``oyster serve`` on the default model (SmolLM2-135M on CPU): the CLI, the openai client, SIGTERM.

A 135M model gives no real safety signal, so the routing flags send every turn to the model after
a real assessment (the graph route on a real model is covered by the graph's own integration
tests): two short model calls per request keep it cheap.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.integration._serve import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_oyster_serve_answers_the_openai_client_on_the_default_model(tmp_path):
    port = free_port()
    traces = tmp_path / "traces.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2", "OYSTER_API_KEYS": "sk-real-test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "oyster_agents.cli", "-v", "serve", "--port", str(port), "--model-name", "smol-guarded",
         "--max-tokens", "24", "--set", "roles.default.max_reasks=0", "--trace-file", str(traces),
         "--max-level", "R2", "--max-severity", "4", "--max-malicious", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "oyster serve did not come up"
            time.sleep(0.5)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-real-test", max_retries=0, timeout=300)
        raw = client.chat.completions.with_raw_response.create(
            model="smol-guarded", messages=[{"role": "user", "content": "How long should bread dough rise?"}])
        reply = raw.parse()
        assert reply.model == "smol-guarded"
        assert isinstance(reply.choices[0].message.content, str) and reply.choices[0].message.content.strip()
        assert reply.usage.completion_tokens > 0
        assert raw.headers["x-oyster-route"] == "direct" and raw.headers["x-oyster-trace-id"].startswith("guard-")
        assessment = reply.model_extra["oyster"]["assessment"]
        assert assessment["level"] in ("R0", "R1", "R2") and 0 <= assessment["severity"] <= 4
        stream = client.chat.completions.create(
            model="smol-guarded", stream=True, messages=[{"role": "user", "content": "Name a bread."}])
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text.strip()
        assert not traces.exists()  # only graph answers leave a trace
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    # uvicorn finishes the requests in flight, then lets SIGTERM end the process as it would have.
    assert proc.returncode == -signal.SIGTERM, stderr[-3000:]
    assert "Finished server process" in stderr
    assert "sk-real-test" not in stderr
