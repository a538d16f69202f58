"""``oyster batch --ray`` on a local Ray instance: the same ids as a local run, each exactly once,
resuming from a partly written output, with workers spread over two endpoints.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from oyster_agents import OysterConfig
from oyster_agents.runner import run_batch
from oyster_agents.schemas import RunTrace
from tests._servers import OpenAICompatServer

pytest.importorskip("ray")
pytestmark = [pytest.mark.integration, pytest.mark.slow]

TAG = re.compile(r"kitchen question (\d+)")


def _tags(server: OpenAICompatServer) -> set[str]:
    return {m.group(1) for r in server.completed() if (m := TAG.search(r.user_text))}


def test_ray_local_mode_matches_the_local_run_and_resumes(tmp_path):
    queries = [{"query": f"A kitchen question {i}: is it safe to reheat rice twice?"} for i in range(8)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    with OpenAICompatServer(latency_s=0.05) as one, OpenAICompatServer(latency_s=0.05) as two:
        role = {"backend": "openai", "model": "test-model", "base_url": f"{one.base_url},{two.base_url}",
                "max_retries": 1, "retry_backoff_s": 0.05}
        config_file = tmp_path / "oyster.yaml"
        config_file.write_text(json.dumps({"roles": {"default": role}, "loop": {"candidates": 2, "max_steps": 1}}))
        local = run_batch(src, tmp_path / "local.jsonl", config=OysterConfig.load(config_file), concurrency=4)
        assert local.ok == 8
        local_ids = sorted(json.loads(line)["id"] for line in (tmp_path / "local.jsonl").read_text().splitlines())
        one.requests.clear()
        two.requests.clear()

        out = tmp_path / "ray.jsonl"
        head = (tmp_path / "local.jsonl").read_text().splitlines()[:2]
        out.write_text("\n".join(head) + "\n" + head[0][:30], encoding="utf-8")  # two done, one torn line
        ray_run = subprocess.run(
            [sys.executable, "-m", "oyster_agents.cli", "batch", str(src), "--out", str(out), "--config",
             str(config_file), "--ray", "--workers", "2", "--concurrency", "2", "--no-progress"],
            capture_output=True, text=True, timeout=240,
        )
        tags_one, tags_two = _tags(one), _tags(two)
    assert ray_run.returncode == 0, ray_run.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [r["id"] for r in records]
    assert sorted(ids) == local_ids and len(set(ids)) == len(ids) == 8
    for record in records:
        RunTrace.model_validate(record)
    assert "partly written last line" in ray_run.stderr and "6 ok" in ray_run.stderr and "2 already done" in ray_run.stderr
    # Worker w talks to endpoint w mod 2: both servers worked, no query was split between them.
    assert tags_one and tags_two and not tags_one & tags_two and len(tags_one | tags_two) == 6
