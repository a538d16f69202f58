"""Resume inside a query: a run that fails or is killed mid Lingo-BP continues from its last
finished node on a SQLite checkpointer, and no LLM call that already finished is made again.

Calls are counted per role (``ScriptedChatModel.calls`` in process, a call log across processes)
and compared with an uninterrupted run of the same graph.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
from langgraph.channels.named_barrier_value import NamedBarrierValue
from langgraph.checkpoint.sqlite import SqliteSaver

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.errors import BackendError
from oyster_agents.schemas import Iterate, RiskAssessment, ScoredCandidate
from oyster_agents.checkpoints import sqlite_checkpointer
from tests.reliability import _resume_child as child
from tests.reliability._helpers import NO_CONVERGENCE, call_counts, schema_reply

ROOT = Path(__file__).resolve().parents[2]
CONFIG = OysterConfig(loop={"candidates": 2, "max_steps": 3, **NO_CONVERGENCE})
QUERY = "How do I store bleach safely?"


def _clean_counts() -> tuple[Counter[str], dict]:
    models = scripted_models()
    out = build_graph(CONFIG, models=models).invoke({"query": QUERY})
    return call_counts(models), out["trace"]


def _saver(path: Path, kind: str):
    if kind == "package serializer":
        return sqlite_checkpointer(path)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False))


def _repeated(total: Counter[str], clean: Counter[str], failed: Counter[str]) -> int:
    """Calls beyond an uninterrupted run, not counting the calls that failed (they never finished)."""
    return sum(max(0, total[role] - clean[role] - failed[role]) for role in total)


@pytest.mark.parametrize("saver_kind", ["package serializer", "plain SqliteSaver"])
def test_failed_reviser_call_resumes_without_repeating_calls(tmp_path, saver_kind, ledger):
    clean, clean_trace = _clean_counts()
    # The reviser's first call extracts iterate 0's chain; its second, the first revision, fails.
    models = scripted_models({"reviser": [schema_reply, ValueError("model crashed"), schema_reply]})
    config = {"configurable": {"thread_id": "thread-1"}}
    with warnings.catch_warnings():
        # The plain saver restores our pydantic types with a "will be blocked" warning.
        warnings.simplefilter("ignore")
        graph = build_graph(CONFIG, models=models, checkpointer=_saver(tmp_path / "ck.db", saver_kind))
        with pytest.raises(BackendError, match="role=reviser"):
            graph.invoke({"query": QUERY}, config)
        first = call_counts(models)
        # A fresh graph and connection on the same file, as a restarted process would build.
        resumed_graph = build_graph(CONFIG, models=models, checkpointer=_saver(tmp_path / "ck.db", saver_kind))
        state = resumed_graph.get_state(config)
        assert state.next == ("revise",)
        assert isinstance(state.values["assessment"], RiskAssessment)
        assert all(isinstance(c, ScoredCandidate) for c in state.values["scored"])
        assert [type(it) for it in state.values["iterates"]] == [Iterate, Iterate]
        assert [it.origin for it in state.values["iterates"]] == ["unguided", "guided"]
        out = resumed_graph.invoke(None, config)
    total = call_counts(models)
    failed = Counter({"reviser": 1})
    repeated = _repeated(total, clean, failed)
    ledger.record("resume", f"reviser raised, in process ({saver_kind})", calls_first=sum(first.values()),
                  calls_resumed=sum((total - first).values()), calls_clean=sum(clean.values()),
                  failed_calls=1, repeated=repeated)
    assert total == clean + failed and repeated == 0
    trace = out["trace"]
    assert len(trace["iterates"]) == len(clean_trace["iterates"]) == 3
    assert trace["answer"] == clean_trace["answer"]
    assert (trace["best_iterate"], trace["selection_reason"]) == (clean_trace["best_iterate"],
                                                                  clean_trace["selection_reason"])
    assert trace["usage"]["total"]["calls"] == clean_trace["usage"]["total"]["calls"]


def test_a_failed_parallel_branch_keeps_the_other_branch_result(tmp_path, ledger):
    """Step 2: the safety critic fails while the satisfaction critic finishes; only the former reruns."""
    clean, _ = _clean_counts()
    models = scripted_models({"safety_critic": [schema_reply, ValueError("critic crashed"), schema_reply]})
    config = {"configurable": {"thread_id": "thread-2"}}
    graph = build_graph(CONFIG, models=models, checkpointer=sqlite_checkpointer(tmp_path / "ck.db"))
    with pytest.raises(BackendError, match="role=safety_critic"):
        graph.invoke({"query": QUERY}, config)
    first = call_counts(models)
    assert first["satisfaction_critic"] == 2  # its step-2 call finished before the failure surfaced
    assert first["user_simulator"] == 2 * 3 + 3 + 3  # so did the three reactions to the step-2 answer
    out = graph.invoke(None, config)
    total = call_counts(models)
    failed = Counter({"safety_critic": 1})
    repeated = _repeated(total, clean, failed)
    ledger.record("resume", "one of two parallel critics raised", calls_first=sum(first.values()),
                  calls_resumed=sum((total - first).values()), calls_clean=sum(clean.values()),
                  failed_calls=1, repeated=repeated)
    assert total == clean + failed and repeated == 0
    assert len(out["trace"]["iterates"]) == 3


def test_a_join_checkpoint_is_not_changed_by_later_steps():
    """A join's checkpoint is what it was when taken: async saves serialise it later, and a set
    that later steps had completed would make a resumed run fire the join early and end unanswered."""
    build_graph(CONFIG, models=scripted_models())
    join = NamedBarrierValue(str, {"solve_game", "extract_chain"})
    join.update(["extract_chain"])
    saved = join.checkpoint()
    join.update(["solve_game"])
    assert saved == {"extract_chain"}
    assert not NamedBarrierValue(str, join.names).from_checkpoint(saved).is_available()


def _log_counts(log: Path) -> Counter[str]:
    return Counter(line for line in log.read_text(encoding="utf-8").split("\n") if line)


def _clean_logged(tmp_path: Path) -> tuple[Counter[str], dict]:
    """Calls and trace of an uninterrupted run of the child's own graph."""
    graph = child.graph_for(str(tmp_path / "clean.db"), str(tmp_path / "clean.log"), kill_reviser=False)
    out = graph.invoke({"query": child.QUERY}, {"configurable": {"thread_id": "clean"}})
    return _log_counts(tmp_path / "clean.log"), out["trace"]


def _kill_and_resume(tmp_path: Path, durability: str) -> tuple[Counter[str], Counter[str], dict]:
    """(calls of the killed process, calls of both, resumed trace); the killed call is not counted."""
    db, log = tmp_path / f"{durability}.db", tmp_path / f"{durability}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability._resume_child", str(db), str(log), "thread-k", durability],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]  # SIGKILL, inside the reviser's first revision
    first = _log_counts(log)
    assert first.pop("killed:reviser") == 1
    graph = child.graph_for(str(db), str(log), kill_reviser=False)
    out = graph.invoke(None, {"configurable": {"thread_id": "thread-k"}}, durability=durability)
    total = _log_counts(log)
    total.pop("killed:reviser")
    return first, total, out["trace"]


@pytest.mark.integration
def test_sigkilled_process_resumes_without_repeating_calls_with_sync_durability(tmp_path, ledger):
    clean, clean_trace = _clean_logged(tmp_path)
    first, total, trace = _kill_and_resume(tmp_path, "sync")
    killed = Counter({"reviser": 1})
    repeated = _repeated(total, clean, Counter())
    ledger.record("resume", "process SIGKILLed inside the reviser's call (durability=sync)",
                  calls_first=sum(first.values()), calls_resumed=sum((total - first).values()),
                  calls_clean=sum(clean.values()), failed_calls=sum(killed.values()), repeated=repeated)
    assert total == clean and repeated == 0  # the killed call never finished: its redo is no repeat
    assert len(trace["iterates"]) == 3 and trace["answer"] == clean_trace["answer"]


@pytest.mark.integration
def test_sigkill_with_async_durability_still_resumes_to_the_same_trace(tmp_path, ledger):
    """The default ("async") saves checkpoints in the background: a kill can lose the last ones,
    so their calls run again. Measured and reported; the resumed trace must still be whole."""
    clean, clean_trace = _clean_logged(tmp_path)
    first, total, trace = _kill_and_resume(tmp_path, "async")
    repeated = _repeated(total, clean, Counter())
    ledger.record("resume", "process SIGKILLed inside the reviser's call (durability=async, the default)",
                  calls_first=sum(first.values()), calls_resumed=sum((total - first).values()),
                  calls_clean=sum(clean.values()), failed_calls=1, repeated=repeated, informational=True)
    assert len(trace["iterates"]) == 3 and trace["answer"] == clean_trace["answer"]
    assert all(total[role] >= clean[role] for role in clean)  # nothing skipped, whatever was redone
