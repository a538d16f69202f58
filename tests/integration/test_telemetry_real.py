"""Tracing a real run: SmolLM2-135M-Instruct through the local transformers backend, tiny budget.

Checks the span tree and that the LLM spans carry what the model really reported (tokens, finish
reason, model name), which scripted models can only imitate.
"""

from __future__ import annotations

import io

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from oyster_agents import OysterConfig, build_graph
from oyster_agents.graphs.constructive import recursion_limit
from oyster_agents.telemetry import configure_tracing, disable_tracing
from oyster_agents.telemetry.console import render_tree

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUERY = "Can I give my 3-year-old an adult ibuprofen tablet for a fever?"
MAX_TOKENS = 48


def test_span_tree_of_a_real_run(smollm_dir):
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    configure_tracing("none", tracer_provider=provider, meter_provider=meters)
    try:
        config = OysterConfig(
            # No re-asks: one call per agent keeps this run to about eight short generations.
            roles={"default": {"backend": "hf", "model": str(smollm_dir), "max_tokens": MAX_TOKENS, "max_reasks": 0}},
            loop={"candidates": 1, "max_steps": 1},
        )
        out = build_graph(config).invoke({"query": QUERY}, config={"recursion_limit": recursion_limit(config)})
    finally:
        disable_tracing()

    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    roots = [s for s in finished if s.parent is None]
    assert [r.name for r in roots] == ["invoke_workflow oyster"]
    assert {s.context.trace_id for s in finished} == {roots[0].context.trace_id}
    assert out["trace"]["trace_id"] == f"{roots[0].context.trace_id:032x}"

    chats = [s for s in finished if s.name.startswith("chat ")]
    assert len(chats) == out["trace"]["usage"]["total"]["calls"]
    model = smollm_dir.name
    for chat in chats:
        owner = by_id[chat.parent.span_id]
        assert owner.name == f"invoke_agent {chat.attributes['gen_ai.agent.name']}"
        attrs = chat.attributes
        assert chat.name == f"chat {model}"
        assert attrs["gen_ai.provider.name"] == "transformers"
        assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == model
        assert attrs["gen_ai.request.max_tokens"] == MAX_TOKENS and attrs["gen_ai.request.temperature"] == 0.0
        # "closed": the local backend closed a JSON object early to fit max_tokens (backends/_closing.py).
        assert attrs["gen_ai.response.finish_reasons"][0] in ("stop", "length", "closed")
        assert 0 < attrs["gen_ai.usage.output_tokens"] <= MAX_TOKENS and attrs["gen_ai.usage.input_tokens"] > 0
        assert "gen_ai.input.messages" not in attrs and "gen_ai.output.messages" not in attrs
    # The spans carry the model's own token counts, the same ones the run trace adds up.
    total_out = out["trace"]["usage"]["total"]["output_tokens"]
    assert sum(c.attributes["gen_ai.usage.output_tokens"] for c in chats) == total_out

    agents = {s.attributes["gen_ai.agent.name"] for s in finished if s.name.startswith("invoke_agent ")}
    assert {"risk_assessor", "strategist", "user_simulator", "game_solver", "responder",
            "safety_critic", "satisfaction_critic"} <= agents
    (step,) = [s for s in finished if s.name == "lingo_bp.step"]
    assert step.parent.span_id == roots[0].context.span_id
    labels = {e.attributes["gen_ai.evaluation.name"]: e.attributes["gen_ai.evaluation.score.label"]
              for e in step.events}
    assert labels["safety"] == out["trace"]["iterates"][0]["safety"]["verdict"]
    assert roots[0].attributes["oyster.risk.level"] == out["trace"]["assessment"]["level"]

    text = io.StringIO()
    text.write(render_tree(finished))
    assert f"│  └─ chat {model}" in text.getvalue()
