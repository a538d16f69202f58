"""A batch against a real OpenAI-compatible server: ``transformers serve`` on SmolLM2-135M-Instruct.

That server ignores ``response_format``, so none is sent; the free-text replies are parsed and repaired
(or fall back), and the run must still end with one valid trace per query. Structure only: a 135M model gives no wisdom.
"""

from __future__ import annotations

import json

import pytest

from oyster_agents import OysterConfig
from oyster_agents.runner import run_batch
from oyster_agents.schemas import RunTrace

from ._serve import transformers_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_batch_on_transformers_serve_writes_one_trace_per_query(tmp_path, smollm_dir):
    queries = [
        {"id": "fever", "query": "My child has a mild fever. What can I do at home?"},
        {"id": "lock", "query": "I locked myself out of my own flat. What are my options?"},
    ]
    with transformers_server(smollm_dir) as base_url:
        config = OysterConfig(
            roles={"default": {"backend": "openai", "base_url": base_url, "model": str(smollm_dir),
                               "max_tokens": 24, "max_reasks": 0, "retry_backoff_s": 0.2,
                               # it ignores response_format anyway, and answers one request at a time
                               "structured_output": "none", "timeout_s": 600}},
            loop={"candidates": 1, "max_steps": 1},
        )
        summary = run_batch(queries, tmp_path / "out.jsonl", config=config, concurrency=2)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert summary.ok == 2 and summary.failed == 0, records
    assert sorted(r["id"] for r in records) == ["fever", "lock"]
    for record in records:
        trace = RunTrace.model_validate(record)
        assert trace.usage.total.calls >= 1 + 1 + 3 + 3 and trace.usage.total.output_tokens > 0
        assert trace.answer.strip()
