"""Tracing: the span tree of a run under invoke, ainvoke, stream, batch and abatch (scripted models).

Each test installs its own in-memory provider through ``configure_tracing(tracer_provider=...)``,
so nothing global is touched.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, defaultdict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.errors import BackendError
from oyster_agents.graphs.constructive import SOLVE, graph_builder
from oyster_agents.telemetry import configure_tracing, disable_tracing, instrument_graph
from oyster_agents.graphs._wrap import hooks_of
from oyster_agents.telemetry.nodes import NodeSpans, TracedStateGraph

ROOT = "invoke_workflow oyster"
STEP = "lingo_bp.step"
# Nodes inside a Lingo-BP step span; the unguided iterate 0's answer and chain extraction run beside
# the candidate game, under the root.
STEP_NODES = {"respond", "judge_safety", "judge_satisfaction", "react_to_answer", "revise"}
CHAT_KEYS = {
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.request.temperature",
    "gen_ai.request.max_tokens", "gen_ai.response.model", "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.agent.name",
}
ROOT_KEYS = {
    "gen_ai.operation.name", "gen_ai.workflow.name", "oyster.risk.level", "oyster.risk.category",
    "oyster.risk.severity", "oyster.strategy.chosen", "oyster.strategy.kind", "oyster.lingo_bp.steps",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
}
CONTENT_KEYS = {
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.evaluation.explanation", "oyster.query", "oyster.risk.user_need", "oyster.risk.intent",
    "oyster.strategy.title",
}
QUERY = "How do I calm a feverish toddler tonight? (marker-zebra)"


class Traced:
    """An in-memory span exporter and metric reader behind an active tracing."""

    def __init__(self, capture_content: bool = False) -> None:
        self.spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.tracing = configure_tracing(
            "none", capture_content=capture_content, tracer_provider=provider,
            meter_provider=MeterProvider(metric_readers=[self.metrics]),
        )

    def by_trace(self) -> dict[int, list]:
        groups: dict[int, list] = defaultdict(list)
        for span in self.spans.get_finished_spans():
            groups[span.context.trace_id].append(span)
        return dict(groups)


@pytest.fixture
def traced():
    tracer = Traced()
    yield tracer
    disable_tracing()


@pytest.fixture
def traced_content():
    tracer = Traced(capture_content=True)
    yield tracer
    disable_tracing()


def small_config(candidates: int = 2, steps: int = 2, **roles) -> OysterConfig:
    return OysterConfig(
        loop={"candidates": candidates, "max_steps": steps}, roles={"default": {"backend": "fake", **roles}}
    )


def check_run(spans: list, out: dict, candidates: int) -> dict:
    """Assert the shape of one run's trace; return the spans by id."""
    by_id = {s.context.span_id: s for s in spans}
    roots = [s for s in spans if s.parent is None]
    assert [r.name for r in roots] == [ROOT]
    root = roots[0]
    for span in spans:  # nothing points outside its own trace
        assert span.parent is None or span.parent.span_id in by_id, span.name
    parent = {s.context.span_id: by_id.get(s.parent.span_id) if s.parent else None for s in spans}

    chats = [s for s in spans if s.name.startswith("chat ")]
    agents = [s for s in spans if s.name.startswith("invoke_agent ")]
    steps = [s for s in spans if s.name == STEP]
    assert len(chats) == out["trace"]["usage"]["total"]["calls"]
    for chat in chats:
        owner = parent[chat.context.span_id]
        assert owner.name.startswith("invoke_agent "), owner.name
        assert owner.attributes["gen_ai.agent.name"] == chat.attributes["gen_ai.agent.name"]
        assert CHAT_KEYS <= set(chat.attributes), CHAT_KEYS - set(chat.attributes)
        assert chat.attributes["gen_ai.operation.name"] == "chat"
    for agent in agents:
        role = agent.attributes["gen_ai.agent.name"]
        assert agent.name == f"invoke_agent {role}"
        node = agent.attributes["oyster.node"]
        expected = STEP if node in STEP_NODES else ROOT
        assert parent[agent.context.span_id].name == expected, (node, parent[agent.context.span_id].name)
    roles = Counter(a.attributes["gen_ai.agent.name"] for a in agents)
    iterates = out["trace"]["iterates"]
    assert roles["risk_assessor"] == 1 and roles["game_solver"] == 1
    # K × 3 reactions to the candidates, 3 to each iterate's answer
    assert roles["strategist"] == candidates and roles["user_simulator"] == 3 * candidates + 3 * len(iterates)
    ordered = sorted(steps, key=lambda s: s.start_time)
    assert [s.attributes["oyster.lingo_bp.step"] for s in ordered] == list(range(len(iterates)))
    for step in steps:
        assert parent[step.context.span_id] is root
        evaluations = {e.attributes["gen_ai.evaluation.name"]: e.attributes for e in step.events
                       if e.name == "gen_ai.evaluation.result"}
        assert set(evaluations) == {"safety", "satisfaction"}
        for attrs in evaluations.values():
            assert "gen_ai.evaluation.score.value" in attrs and "gen_ai.evaluation.score.label" in attrs
        assert {"oyster.iterate.safety_score", "oyster.iterate.constructive_score"} <= set(step.attributes)
    assert ROOT_KEYS <= set(root.attributes), ROOT_KEYS - set(root.attributes)
    assert root.attributes["oyster.risk.level"] == out["trace"]["assessment"]["level"]
    assert root.attributes["oyster.strategy.chosen"] == out["trace"]["chosen"]
    assert root.attributes["oyster.lingo_bp.steps"] == len(iterates)
    assert out["trace"]["trace_id"] == f"{root.context.trace_id:032x}"
    return by_id


def assert_no_content(spans: list, *texts: str) -> None:
    for span in spans:
        values = [*span.attributes.values(), *(v for e in span.events for v in e.attributes.values())]
        assert not CONTENT_KEYS & set(span.attributes), span.name
        for event in span.events:
            assert not CONTENT_KEYS & set(event.attributes)
        for value in values:
            for text in texts:
                assert text not in str(value), (span.name, value)


def test_invoke_span_tree(traced):
    graph = build_graph(small_config(candidates=3), models=scripted_models())
    assert isinstance(graph, TracedStateGraph) and isinstance(graph, CompiledStateGraph)
    out = graph.invoke({"query": QUERY, "id": "run-1"})
    (spans,) = traced.by_trace().values()
    check_run(spans, out, candidates=3)
    root = next(s for s in spans if s.parent is None)
    assert root.attributes["oyster.run.id"] == "run-1"
    chat = next(s for s in spans if s.name.startswith("chat "))
    assert chat.attributes["gen_ai.provider.name"] == "oyster.scripted"
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert_no_content(spans, "marker-zebra")
    assert trace.get_current_span() is trace.INVALID_SPAN  # the caller's context is left as it was


def test_ainvoke_span_tree(traced):
    graph = build_graph(small_config(), models=scripted_models())
    out = asyncio.run(graph.ainvoke({"query": QUERY}))
    (spans,) = traced.by_trace().values()
    check_run(spans, out, candidates=2)
    assert_no_content(spans, "marker-zebra")


def _check_isolated(traced: Traced, outs: list[dict], n: int) -> None:
    groups = traced.by_trace()
    assert len(groups) == n
    for i, out in enumerate(outs):
        spans = groups[int(out["trace"]["trace_id"], 16)]
        check_run(spans, out, candidates=1)
        root = next(s for s in spans if s.parent is None)
        assert root.attributes["oyster.run.id"] == f"q{i}"
        # Content is on here, so every prompt names its own query: no span carries another's.
        for span in spans:
            text = span.attributes.get("gen_ai.input.messages", "")
            markers = {f"tag{j}-" for j in range(n) if f"tag{j}-" in text}
            assert markers <= {f"tag{i}-"}, (span.name, markers)
        assert any(f"tag{i}-" in s.attributes.get("gen_ai.input.messages", "") for s in spans)


def test_batch_of_8_concurrent_runs(traced_content):
    graph = build_graph(small_config(candidates=1, steps=1), models=scripted_models())
    inputs = [{"query": f"Question tag{i}- about fevers", "id": f"q{i}"} for i in range(8)]
    outs = graph.batch(inputs, config={"max_concurrency": 8})
    _check_isolated(traced_content, outs, 8)


def test_abatch_of_8_concurrent_runs(traced_content):
    graph = build_graph(small_config(candidates=1, steps=1), models=scripted_models())
    inputs = [{"query": f"Question tag{i}- about fevers", "id": f"q{i}"} for i in range(8)]
    outs = asyncio.run(graph.abatch(inputs, config={"max_concurrency": 8}))
    _check_isolated(traced_content, outs, 8)


def test_stream_stopped_early_still_ends_the_root(traced):
    graph = build_graph(small_config(), models=scripted_models())
    for _ in graph.stream({"query": QUERY}, stream_mode="updates"):
        break
    (spans,) = traced.by_trace().values()
    root = next(s for s in spans if s.parent is None)
    assert root.name == ROOT and root.status.status_code is StatusCode.UNSET
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_content_captured_only_when_asked(traced_content):
    graph = build_graph(small_config(candidates=1, steps=1), models=scripted_models())
    graph.invoke({"query": QUERY})
    spans = traced_content.spans.get_finished_spans()
    chat = next(s for s in spans if s.name.startswith("chat") and s.attributes["gen_ai.agent.name"] == "risk_assessor")
    messages = json.loads(chat.attributes["gen_ai.input.messages"])
    assert messages[0]["role"] == "user" and "marker-zebra" in messages[0]["parts"][0]["content"]
    assert json.loads(chat.attributes["gen_ai.system_instructions"])[0]["type"] == "text"
    output = json.loads(chat.attributes["gen_ai.output.messages"])
    assert output[0]["role"] == "assistant" and output[0]["finish_reason"] == "stop"
    root = next(s for s in spans if s.parent is None)
    assert root.attributes["oyster.query"] == QUERY


def test_metrics_histograms(traced):
    graph = build_graph(small_config(candidates=1, steps=1), models=scripted_models())
    out = graph.invoke({"query": QUERY})
    calls = out["trace"]["usage"]["total"]["calls"]
    points: dict[str, list] = defaultdict(list)
    for resource in traced.metrics.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name].extend(metric.data.data_points)
    duration = points["gen_ai.client.operation.duration"]
    assert sum(p.count for p in duration) == calls
    assert all(p.attributes["gen_ai.operation.name"] == "chat" for p in duration)
    usage = points["gen_ai.client.token.usage"]
    by_type = {p.attributes["gen_ai.token.type"]: p for p in usage}
    assert set(by_type) == {"input", "output"}
    assert sum(p.count for p in usage if p.attributes["gen_ai.token.type"] == "input") == calls
    total_in = out["trace"]["usage"]["total"]["input_tokens"]
    assert sum(p.sum for p in usage if p.attributes["gen_ai.token.type"] == "input") == total_in


SECRET = "sk-live-Zq81mXcv0pPq"


def test_errors_set_status_and_never_leak_credentials(traced_content, caplog):
    caplog.set_level(logging.DEBUG)
    config = OysterConfig(
        loop={"candidates": 1, "max_steps": 1},
        roles={"default": {
            "backend": "openai", "base_url": "http://svc-user:pw-Hq7e2@127.0.0.1:9/v1", "api_key": SECRET,
        }},
    )
    models = scripted_models({"safety_critic": [PermissionError(f"upstream refused key {SECRET}")]})
    graph = build_graph(config, models=models)
    with pytest.raises(BackendError):
        graph.invoke({"query": QUERY})
    spans = traced_content.spans.get_finished_spans()
    failed = {s.name.split(" ")[0] + ":" + str(s.attributes.get("gen_ai.agent.name", "")): s
              for s in spans if s.status.status_code is StatusCode.ERROR}
    chat = failed["chat:safety_critic"]
    assert chat.attributes["error.type"] == "PermissionError"
    assert failed["invoke_agent:safety_critic"].attributes["error.type"] == "oyster_agents.errors.BackendError"
    assert "lingo_bp.step:" in failed and "invoke_workflow:" in failed
    assert chat.attributes["server.address"] == "127.0.0.1" and chat.attributes["server.port"] == 9
    for span in spans:
        texts = [str(v) for v in span.attributes.values()] + [span.status.description or ""]
        texts += [str(v) for e in span.events for v in e.attributes.values()]
        for text in texts:
            assert SECRET not in text and "pw-Hq7e2" not in text, (span.name, text[:200])
    assert any("[REDACTED]" in str(e.attributes.get("exception.message")) for e in chat.events)
    for record in caplog.records:
        assert SECRET not in record.getMessage() and "pw-Hq7e2" not in record.getMessage()


def test_interrupt_and_resume_with_graph_builder(traced):
    builder = graph_builder(small_config(candidates=1, steps=1), models=scripted_models())
    graph = instrument_graph(builder.compile(checkpointer=InMemorySaver(), interrupt_before=[SOLVE], name="oyster"))
    config = {"configurable": {"thread_id": "conv-7"}}
    graph.invoke({"query": QUERY}, config)
    assert graph.get_state(config).next == (SOLVE,)
    out = graph.invoke(None, config)
    groups = list(traced.by_trace().values())
    assert len(groups) == 2  # one trace per invocation
    roots = [next(s for s in g if s.parent is None) for g in groups]
    assert all(r.status.status_code is StatusCode.UNSET for r in roots)  # an interrupt is no error
    assert {r.attributes["gen_ai.conversation.id"] for r in roots} == {"conv-7"}
    for span in (s for g in groups for s in g if s.name.startswith(("chat ", "invoke_agent "))):
        assert span.attributes["gen_ai.conversation.id"] == span.attributes["session.id"] == "conv-7", span.name
    assert out["trace"]["trace_id"] in {f"{r.context.trace_id:032x}" for r in roots}


def test_with_config_and_get_graph_keep_working(traced):
    graph = build_graph(small_config(candidates=1, steps=1), models=scripted_models())
    assert "prepare" in graph.get_graph().nodes
    bound = graph.with_config(recursion_limit=40)
    assert isinstance(bound, TracedStateGraph)
    bound.invoke({"query": QUERY})
    assert len(traced.by_trace()) == 1


def test_a_graph_built_before_setup_is_traced_and_disable_stops_spans(traced):
    disable_tracing()
    plain = graph_builder(small_config(candidates=1, steps=1), models=scripted_models())
    assert any(isinstance(h, NodeSpans) for spec in plain.nodes.values() for h in hooks_of(spec.runnable))  # always instrumented
    compiled = build_graph(small_config(candidates=1, steps=1), models=scripted_models())
    assert isinstance(compiled, TracedStateGraph)
    assert compiled.invoke({"query": QUERY})["trace"]["trace_id"] is None  # off: no span at all

    tracer = Traced()  # configured after the graph was built
    out = compiled.invoke({"query": QUERY})
    (spans,) = tracer.by_trace().values()
    check_run(spans, out, candidates=1)
    disable_tracing()
    compiled.invoke({"query": QUERY})
    assert len(tracer.spans.get_finished_spans()) == len(spans)  # nothing new after disable
