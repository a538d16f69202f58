"""``oyster run`` progress on standard error: stage lines in order, never on stdout, on/off rules."""

from __future__ import annotations

import io
import json
import re

import pytest

from oyster_agents import cli
from oyster_agents.backends.fake import scripted_models
from oyster_agents.commands._progress import RunProgress, stage_of, summary_line

from . import _scripts as s

QUERY = "Is it safe to rub a feverish child with alcohol?"
ARGS = ["run", QUERY, "--json", "--max-steps", "3", "--candidates", "2"]


@pytest.fixture
def fake_backend(monkeypatch):
    """Scripted models whose satisfaction keeps improving, so Lingo-BP runs all three steps."""
    import oyster_agents.backends as backends

    rubrics = [s.rubric([v] * 5) for v in (-1, 0, 1)]
    monkeypatch.setattr(backends, "make_models", lambda config: scripted_models({"satisfaction_critic": rubrics}))


def stage_lines(text: str) -> list[str]:
    return [line[2:].split("  ")[0] for line in text.splitlines() if line.startswith("✓ ")]


def test_forced_progress_draws_every_stage_in_order_on_stderr_only(fake_backend, capsys):
    assert cli.main([*ARGS, "--progress"]) == 0
    out, err = capsys.readouterr()
    trace = json.loads(out)  # stdout is the trace alone: `--json | jq` keeps working
    assert "✓" not in out and "done in" not in out
    lines = stage_lines(err)
    # iterate 0 is the model's own answer (unguided answer, then its chain) beside the strategy game
    expected = [
        "unguided answer", "assess", "strategies 2/2", "extract chain", "reactions 6/6", "solve",
        "reactions to answer 3/3 step 1/3", "judge 2/2 step 1/3",
        "respond step 2/3", "reactions to answer 3/3 step 2/3", "judge 2/2 step 2/3",
        "revise step 3/3", "respond step 3/3", "reactions to answer 3/3 step 3/3", "judge 2/2 step 3/3",
    ]
    assert sorted(lines) == sorted(expected)
    # concurrent stages may finish either way round; the pipeline's own order holds
    pipeline = ["assess", "strategies 2/2", "reactions 6/6", "solve", "judge 2/2 step 1/3", "respond step 2/3",
                "judge 2/2 step 2/3", "revise step 3/3", "respond step 3/3", "judge 2/2 step 3/3"]
    assert [line for line in lines if line in pipeline] == pipeline
    assert len(trace["iterates"]) == 3
    summary = err.strip().splitlines()[-1]
    calls = trace["usage"]["total"]["calls"]
    assert re.fullmatch(rf"done in \d+ s · {calls} calls · [\d,]+ prompt \+ [\d,]+ generated tokens · 0 fallbacks.*", summary)
    assert err.splitlines()[0].startswith("oyster run · ")


def test_progress_is_off_with_no_progress_and_when_stderr_is_not_a_terminal(fake_backend, capsys):
    assert cli.main([*ARGS, "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    assert cli.main(ARGS) == 0  # captured stderr is not a terminal
    assert capsys.readouterr().err == ""


def test_progress_is_on_by_default_on_a_terminal_and_off_when_asked(fake_backend, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli.main(ARGS) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    for name in ("assess", "strategies 2/2", "reactions 6/6", "solve", "judge 2/2 step 3/3", "revise step 3/3"):
        assert name in err
    assert "done in" in err
    assert cli.main([*ARGS, "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_unknown_nodes_get_their_own_line_and_bookkeeping_nodes_none():
    assert stage_of("judge_satisfaction") == stage_of("judge_safety") == "judge"
    assert stage_of("score_iterate") is None and stage_of("prepare") is None
    assert stage_of("critique") is None and stage_of("react_to_answer") == "reactions to answer"
    assert stage_of("check_citations") == "check citations"  # a node added later still shows up
    view = RunProgress(io.StringIO(), live=False)
    for i in range(3):
        view.handle("tasks", {"id": f"t{i}", "name": "check_citations", "input": {}})
    for i in range(3):
        view.handle("tasks", {"id": f"t{i}", "name": "check_citations", "result": []})
    assert stage_lines(view.console.file.getvalue()) == ["check citations 3/3"]


def test_summary_counts_fallbacks_by_kind():
    trace = {
        "usage": {"total": {"calls": 5, "input_tokens": 1234, "output_tokens": 56, "cached_tokens": 1000}},
        "fallbacks": [{"kind": "fallback_value"}, {"kind": "fallback_value"}, {"kind": "repaired_json"}],
    }
    assert summary_line(trace, 12.4) == (
        "done in 12 s · 5 calls · 1,234 prompt (1,000 cached) + 56 generated tokens · 2 fallbacks (1 repaired json)"
    )
