"""The per-query deadline (``loop.deadline_s``): a clean stop at the best iterate, or a named error.

Scripted models sleep to make time pass where each test needs it; the margins are seconds wide so
a loaded machine cannot flip the outcome.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from langchain_core.messages import HumanMessage
from pydantic import ValidationError

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.calls import RoleRuntime, call_model, deadline_scope
from oyster_agents.backends.fake import ScriptedChatModel, scripted_models
from oyster_agents.config import LoopConfig, RoleModelConfig
from oyster_agents.errors import DeadlineExceededError
from oyster_agents.graphs.constructive import graph_builder
from oyster_agents.graphs._wrap import hooks_of
from oyster_agents.graphs.deadline import DeadlineHook
from oyster_agents.runner import run_batch
from tests.reliability._helpers import NO_CONVERGENCE, call_counts, read_jsonl, schema_reply, slow_reply, tally


def _config(**loop: object) -> OysterConfig:
    return OysterConfig(loop={"candidates": 1, **NO_CONVERGENCE, **loop})


def _verdict(verdict: str):
    def reply(messages, schema):
        return json.dumps({"verdict": verdict, "explanation": "x", "suggestion": "y"})

    return reply


def test_deadline_mid_loop_returns_the_best_iterate_not_the_last():
    # Iterate 0 (the unguided answer) is safe, iterate 1 (the guided one) unsafe; the first
    # revision outlasts the deadline. The reviser's first call is the chain extraction.
    models = scripted_models({
        "responder": ["<think>p</think>FIRST ANSWER", "<think>p</think>SECOND ANSWER"],
        "safety_critic": [_verdict("safe"), _verdict("unsafe")],
        "reviser": [schema_reply, slow_reply(2.5)],
    })
    started = time.monotonic()
    out = build_graph(_config(max_steps=5, deadline_s=2.0), models=models).invoke({"query": "hello"})
    elapsed = time.monotonic() - started
    trace = out["trace"]
    assert [(it["origin"], it["safety"]["verdict"]) for it in trace["iterates"]] == [
        ("unguided", "safe"), ("guided", "unsafe")]
    # The last iterate is never returned: the safety gate excludes it, and no cautious answer is needed.
    assert trace["best_iterate"] == 0 and out["answer"] == "FIRST ANSWER"
    assert trace["selection_reason"].startswith("iterate 0 (unguided): highest expected utility inside the boundary")
    assert trace["selection_reason"].endswith("; 1 unsafe iterate(s) excluded")
    assert not [f for f in trace["fallbacks"] if f["kind"] == "all_unsafe"]
    notes = [f for f in trace["fallbacks"] if f["kind"] == "deadline"]
    assert notes[-1] == {"role": "lingo_bp", "kind": "deadline",
                         "detail": "stopped after 2 of at most 5 steps: loop.deadline_s=2 passed"}
    # Every node of the step after the slow revision is skipped and says so: the responder, both
    # critics and the three user-simulator reactions.
    assert Counter(f["role"] for f in notes[:-1]) == {
        "responder": 1, "safety_critic": 1, "satisfaction_critic": 1, "user_simulator": 3}
    counts = call_counts(models)
    # Nothing was called after the deadline: two answers, extraction + one revision, and for the
    # simulator 3 reactions to the one plan plus 3 to each of the two answers.
    assert counts["responder"] == 2 and counts["reviser"] == 2
    assert counts["safety_critic"] == counts["satisfaction_critic"] == 2 and counts["user_simulator"] == 9
    assert elapsed < 2.0 + 2.5 + 1.5


def test_a_step_that_ends_after_the_deadline_is_kept_and_the_loop_stops():
    models = scripted_models({"safety_critic": [slow_reply(1.5)]})
    out = build_graph(_config(max_steps=4, deadline_s=1.0), models=models).invoke({"query": "hello"})
    trace = out["trace"]
    assert [it["origin"] for it in trace["iterates"]] == ["unguided"]  # the late step is kept, and returned
    assert trace["best_iterate"] == 0 and out["answer"] == trace["iterates"][0]["answer"]
    assert [f["detail"] for f in trace["fallbacks"] if f["kind"] == "deadline"] == [
        "stopped after 1 of at most 4 steps: loop.deadline_s=1 passed"
    ]
    counts = call_counts(models)
    # No guided answer and no revision were started: the reviser's only call is iterate 0's extraction.
    assert counts["responder"] == 1 and counts["reviser"] == 1


def test_deadline_before_any_iterate_raises_an_error_naming_the_node():
    models = scripted_models({"user_simulator": [slow_reply(1.2)]})
    with pytest.raises(DeadlineExceededError, match="deadline_s=0.5") as info:
        build_graph(_config(max_steps=2, deadline_s=0.5), models=models).invoke({"query": "hello"})
    assert info.value.role in {"user_simulator", "game_solver"}  # a late branch, or the solver after them
    counts = call_counts(models)
    # Only the unguided answer (written beside the assessment) was drafted; no guided answer was
    # written, nothing was judged and the answer got no reactions (the simulator's 3 are the plan's).
    assert counts["responder"] == 1 and counts["user_simulator"] == 3
    assert counts["safety_critic"] == counts["satisfaction_critic"] == 0


def test_deadline_in_a_batch_becomes_an_error_record_and_the_others_finish(tmp_path, ledger):
    def simulate(messages, schema):
        if any("SLOW-QUERY" in str(m.content) for m in messages):
            time.sleep(1.2)
        return schema_reply(messages, schema)

    models = scripted_models({"user_simulator": [simulate]})
    queries = [{"id": f"q{i}", "query": f"question {i}" + (" SLOW-QUERY" if i == 1 else "")} for i in range(4)]
    out = tmp_path / "out.jsonl"
    summary = run_batch(queries, out, config=_config(max_steps=1, deadline_s=0.8), models=models, concurrency=2)
    records = read_jsonl(out)
    figures = tally([q["id"] for q in queries], records)
    ledger.record("faults", "per-query deadline passed before any answer", backend="scripted models", **figures)
    assert summary.ok == 3 and summary.failed == 1
    (error,) = [r for r in records if r.get("status") == "error"]
    assert error["id"] == "q1" and error["error"]["type"] == "DeadlineExceededError"
    assert error["error"]["role"] in {"user_simulator", "game_solver"}
    assert figures["lost"] == 0 and figures["duplicated"] == 0


def test_retries_never_wait_past_the_deadline():
    runtime = RoleRuntime(
        role="responder", model=ScriptedChatModel(script=[ConnectionError("refused")]),
        config=RoleModelConfig(backend="fake", max_retries=50, retry_backoff_s=0.2),
    )
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as info, deadline_scope(time.time() + 1.0):
        call_model(runtime, [HumanMessage("hi")])
    assert time.monotonic() - started < 1.6
    assert info.value.role == "responder" and 1 <= info.value.attempts < 51
    assert "ConnectionError: refused" in str(info.value)


def test_a_call_never_starts_after_the_deadline():
    model = ScriptedChatModel()
    runtime = RoleRuntime(role="responder", model=model, config=RoleModelConfig(backend="fake"))
    with pytest.raises(DeadlineExceededError), deadline_scope(time.time() - 0.1):
        call_model(runtime, [HumanMessage("hi")])
    assert model.calls == []


def test_without_a_deadline_no_node_is_wrapped():
    def guarded(config: OysterConfig) -> set[str]:
        builder = graph_builder(config, models=scripted_models())
        names = set()
        for name, spec in builder.nodes.items():
            if any(isinstance(hook, DeadlineHook) for hook in hooks_of(spec.runnable)):
                names.add(name)
        return names

    assert guarded(_config()) == set()
    assert guarded(_config(deadline_s=30)) >= {"assess_risk", "propose_strategy", "simulate_user", "respond", "revise"}


def test_deadline_setting_is_validated_and_read_from_the_environment(monkeypatch):
    with pytest.raises(ValidationError):
        LoopConfig(deadline_s=0)
    monkeypatch.setenv("OYSTER_LOOP__DEADLINE_S", "45")
    assert OysterConfig.load().loop.deadline_s == 45.0
