"""``langgraph.json``: the graph it names loads from its path, builds on demand and runs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import scripted_models

from . import _scripts as s

ROOT = Path(__file__).resolve().parents[2]


def load_factories() -> dict:
    spec = json.loads((ROOT / "langgraph.json").read_text(encoding="utf-8"))
    assert spec["graphs"], "langgraph.json names no graph"
    factories = {}
    for name, target in spec["graphs"].items():
        path, _, attr = target.rpartition(":")
        file = (ROOT / path).resolve()
        assert file.is_file(), f"{target}: no such file"
        # Load by path, as the LangGraph server does, under a fresh module name.
        module_spec = importlib.util.spec_from_file_location(f"_langgraph_json_{name}", file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        factories[name] = (module, getattr(module, attr))
    return factories


@pytest.fixture
def fake_backend(monkeypatch):
    """Role models from config become scripted fakes, so the factory's graph runs without weights."""
    import oyster_agents.backends as backends

    built = []

    def make_models(config: OysterConfig):
        built.append(config)
        return scripted_models({"risk_assessor": [s.assessment()], "responder": ["<think>p</think>Served answer."]})

    monkeypatch.setattr(backends, "make_models", make_models)
    monkeypatch.delenv("OYSTER_APPROVE_HIGH_RISK", raising=False)
    return built


def test_the_graph_named_in_langgraph_json_builds_on_demand_and_runs(fake_backend):
    [(module, factory)] = load_factories().values()
    assert not module._graphs, "nothing may be compiled at import time"
    graph = factory({"configurable": {"oyster": {"loop": {"candidates": 1, "max_steps": 1}}}})
    assert graph.checkpointer is None  # the server brings its own
    assert fake_backend[-1].loop.candidates == 1
    out = graph.invoke({"query": "Is it safe to mix bleach and vinegar?"})
    assert out["answer"] == "Served answer." and len(out["trace"]["candidates"]) == 1
    assert factory({"configurable": {"oyster": {"loop": {"candidates": 1, "max_steps": 1}}}}) is graph
    assert factory(None) is not graph and len(fake_backend) == 2


def test_the_factory_reads_review_and_config_file_settings_from_the_environment(fake_backend, monkeypatch, tmp_path):
    config_file = tmp_path / "oyster.yaml"
    config_file.write_text("loop:\n  candidates: 3\n", encoding="utf-8")
    monkeypatch.setenv("OYSTER_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("OYSTER_APPROVE_HIGH_RISK", "true")
    [(_, factory)] = load_factories().values()
    graph = factory({})
    assert fake_backend[-1].loop.candidates == 3
    assert "review" in graph.get_graph().nodes
