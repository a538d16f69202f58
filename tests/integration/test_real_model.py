"""End to end on the real SmolLM2-135M-Instruct: in-process (hf) and through an OpenAI-compatible server.

A 135M model gives no real safety signal: these tests check structure (the run ends, the trace validates,
every role ran, fallbacks are recorded), never wisdom.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from oyster_agents import OysterConfig, build_graph
from oyster_agents.graphs.constructive import recursion_limit
from oyster_agents.schemas import RunTrace

from ._serve import transformers_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUERY = "My toddler has had a fever for two days and a forum says to rub her with alcohol. Should I?"


def _check_trace(data: dict, *, candidates: int) -> RunTrace:
    trace = RunTrace.model_validate(data)
    assert len(trace.candidates) == candidates
    for scored in trace.candidates:
        assert {r.user_type.value for r in scored.reactions} == {"benign", "sensitive", "malicious"}
    assert trace.iterates and trace.iterates[0].safety and trace.iterates[0].satisfaction
    assert 0 <= trace.best_iterate < len(trace.iterates)
    best = trace.iterates[trace.best_iterate]
    if best.safety.verdict.value == "unsafe":  # every iterate was: the cautious answer went out instead
        assert trace.selection_reason.startswith("every iterate") and trace.answer != best.answer
    else:
        assert trace.answer == best.answer
    assert trace.answer.strip() and trace.selection_reason
    # the game on every answer: three reactions, numbers, and the policy rule behind the boundary
    assert trace.iterates[0].origin == "unguided"
    assert all(it.game is not None and len(it.game.reactions) == 3 for it in trace.iterates)
    assert trace.policy_rule_id is not None and trace.policy_rule and trace.boundary_limit is not None
    # 2 assessment calls, K strategies, 3K reactions, then per iterate an answer, 2 critics, 3 reactions
    assert trace.usage.total.calls >= 2 + candidates + 3 * candidates + 6 * len(trace.iterates)
    assert trace.usage.total.output_tokens > 0
    return trace


def _check_budgets(trace: RunTrace, config: OysterConfig) -> None:
    """Each role ran under its own budget, and no structured output reached it: every one ended on its
    own, none was cut at the cap or closed early to fit it."""
    calls = trace.usage.calls
    assert len(calls) == trace.usage.total.calls
    assert all(c.max_tokens == config.role(c.role).max_tokens for c in calls)
    structured = [c for c in calls if c.parsed is not None]
    assert {c.role for c in structured} == {"risk_assessor", "strategist", "user_simulator", "safety_critic",
                                            "satisfaction_critic", "reviser"}
    at_cap = [(c.role, c.schema_name, c.output_tokens, c.max_tokens) for c in structured
              if c.finish_reason in ("length", "closed") or c.output_tokens >= c.max_tokens]
    assert not at_cap, f"structured outputs that ran into their role's max_tokens: {at_cap}"
    assert all(c.finish_reason == "stop" for c in structured if c.parsed == "valid")


def test_graph_on_smollm_in_process(smollm_dir):
    config = OysterConfig(  # each role's own token budget (config.ROLE_MAX_TOKENS)
        roles={"default": {"backend": "hf", "model": str(smollm_dir)}},
        loop={"candidates": 2, "max_steps": 2},
    )
    out = build_graph(config).invoke({"query": QUERY}, config={"recursion_limit": recursion_limit(config)})
    trace = _check_trace(out["trace"], candidates=2)
    _check_budgets(trace, config)
    # grammar-constrained decoding: the assessor's category is always a policy id or "none"
    from oyster_agents.taxonomy import load_taxonomy

    assert trace.assessment.category in [*load_taxonomy().ids, "none"]


def test_graph_through_an_openai_compatible_server(smollm_dir):
    with transformers_server(smollm_dir) as base_url:
        config = OysterConfig(
            roles={"default": {"backend": "openai", "base_url": base_url, "model": str(smollm_dir),
                               "max_tokens": 64, "max_reasks": 1, "retry_backoff_s": 0.2}},
            loop={"candidates": 2, "max_steps": 1},
        )
        out = build_graph(config).invoke({"query": QUERY}, config={"recursion_limit": recursion_limit(config)})
    trace = _check_trace(out["trace"], candidates=2)
    # this server ignores response_format, so free-form JSON gets repaired, re-asked or replaced: all recorded
    assert all(f.role for f in trace.fallbacks)


def test_cli_run_json_on_the_default_model():
    proc = subprocess.run(
        [sys.executable, "-m", "oyster_agents.cli", "run", QUERY, "--json", "--max-steps", "1", "--candidates", "2",
         "--max-tokens", "64"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    for key in ("query", "assessment", "candidates", "chosen", "iterates", "best_iterate", "answer", "usage", "fallbacks"):
        assert key in data
    _check_trace(data, candidates=2)
