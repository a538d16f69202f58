"""One trace per guarded call, tracing through the app's own providers, and no SDK at all.

The global-provider cases run in a fresh interpreter each: OpenTelemetry lets a process set its
global tracer provider once, and the no-SDK case must not find the SDK importable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oyster_agents.telemetry import disable_tracing

from .test_guard import CONVERSATION, HIGH, LOW, collect, guard_for
from .test_telemetry import Traced

ROOT = Path(__file__).resolve().parents[2]
GUARD = "invoke_agent constructive_guard"


def tree(spans) -> dict:
    by_id = {s.context.span_id: s for s in spans}
    return {s.name: (by_id[s.parent.span_id].name if s.parent else None) for s in spans}


def ancestors(span, by_id) -> list[str]:
    names = []
    while span.parent is not None:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


@pytest.fixture
def traced():
    tracer = Traced()
    yield tracer
    disable_tracing()


@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_one_trace_per_guarded_call_with_route_and_risk_on_its_root(traced, how):
    from langchain_core.runnables import RunnableLambda

    guard, _ = guard_for(HIGH)
    config = {"metadata": {"thread_id": "conv-9"}}  # as LangGraph passes a node's thread to the models it calls
    if how == "invoke":
        reply = guard.invoke(CONVERSATION, config)
    else:  # stream() hands no run manager to the guard: the enclosing run's config carries the thread
        reply = RunnableLambda(lambda m: collect(guard.stream(m))).invoke(CONVERSATION, config)
    spans = traced.spans.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1  # no orphan assessment trace
    roots = [s for s in spans if s.parent is None]
    assert [r.name for r in roots] == [GUARD]
    root = roots[0]
    assert root.attributes["oyster.guard.route"] == "constructive"
    assert root.attributes["oyster.risk.level"] == "R1" and root.attributes["oyster.risk.category"] == "healthcare"
    assert root.attributes["oyster.risk.severity"] == 3
    by_id = {s.context.span_id: s for s in spans}
    workflow = next(s for s in spans if s.name == "invoke_workflow oyster")
    assert by_id[workflow.parent.span_id] is root
    assessment = [s for s in spans if s.name.startswith("chat ") and s.attributes["gen_ai.agent.name"] == "risk_assessor"]
    assert len(assessment) == 2  # one assessment (classify, then adapt the rule), not repeated by the graph
    assert all(by_id[span.parent.span_id] is root for span in assessment)
    for span in spans:
        if span.name.startswith(("chat ", "invoke_agent ", "invoke_workflow ")):
            assert span.attributes["gen_ai.conversation.id"] == "conv-9", span.name
            assert span.attributes["session.id"] == "conv-9", span.name
    assert reply.response_metadata["oyster"]["trace_id"] == f"{root.context.trace_id:032x}"


def test_direct_route_is_one_trace_too(traced):
    guard, _ = guard_for(LOW)
    guard.invoke(CONVERSATION)
    spans = traced.spans.get_finished_spans()
    assert tree(spans) == {GUARD: None, "chat scripted": GUARD}
    root = next(s for s in spans if s.parent is None)
    assert root.attributes["oyster.guard.route"] == "direct" and root.attributes["oyster.risk.level"] == "R0"


def run_python(code: str, **env: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


GUARD_SETUP = """
import json, os
from langchain_core.messages import HumanMessage
from oyster_agents import OysterConfig
from oyster_agents.backends.fake import ScriptedChatModel, scripted_models
from oyster_agents.guard import ConstructiveGuard

models = scripted_models({"risk_assessor": [os.environ["ASSESSMENT"]], "responder": ["<think>p</think>Safe answer."]})
config = OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 1, "max_steps": 1})
guard = ConstructiveGuard(model=ScriptedChatModel(role="app", script=["hi"]), config=config, models=models)
guard.invoke([HumanMessage("warm-up before any OpenTelemetry setup")])  # builds the graph
"""


def test_an_app_configured_sdk_gets_the_span_tree_without_configure_tracing():
    out = run_python(GUARD_SETUP + """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # the app's own setup; configure_tracing is never called
guard.invoke([HumanMessage("Should I rub my feverish toddler with alcohol?")])
spans = exporter.get_finished_spans()
print(json.dumps({"names": sorted({s.name for s in spans}), "traces": len({s.context.trace_id for s in spans}),
                  "roots": [s.name for s in spans if s.parent is None]}))
""", ASSESSMENT=HIGH)
    assert out["traces"] == 1 and out["roots"] == [GUARD]
    assert {"invoke_workflow oyster", "invoke_agent responder", "lingo_bp.step", "chat scripted"} <= set(out["names"])


_BLOCK_SDK = """
import sys
class NoSdk:
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoSdk())
"""


def test_without_the_sdk_there_are_no_spans_and_no_errors():
    out = run_python(_BLOCK_SDK + GUARD_SETUP + """
import sys
from oyster_agents.errors import ConfigError
from oyster_agents.telemetry import configure_tracing
reply = guard.invoke([HumanMessage("Should I rub my feverish toddler with alcohol?")])
try:
    configure_tracing("console")
    error = ""
except ConfigError as exc:
    error = str(exc)
print(json.dumps({"answer": reply.content, "trace_id": reply.response_metadata["oyster"]["trace_id"],
                  "sdk": [m for m in sys.modules if m.startswith("opentelemetry.sdk")], "error": error}))
""", ASSESSMENT=HIGH)
    assert out["answer"] == "Safe answer." and out["trace_id"] is None
    assert out["sdk"] == []
    assert "oyster-agents[tracing]" in out["error"]
