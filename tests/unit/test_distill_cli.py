"""``oyster export``, ``oyster distill`` and ``oyster chat``: parsing, reports and failures that need no model."""

from __future__ import annotations

import json

import pytest

from oyster_agents.cli import main, make_parser
from oyster_agents.commands.chat import split_thinking

from .test_distill_rows import make_trace, write_jsonl


def test_help_lists_the_distillation_commands():
    text = make_parser().format_help()
    for name in ("export", "distill", "chat"):
        assert name in text


def test_export_writes_dataset_and_reports_skipped_lines(tmp_path, capsys):
    traces = write_jsonl(tmp_path / "t.jsonl", [make_trace(f"query {i}") for i in range(5)] + ["{bad", make_trace("x", best=9)])
    code = main(["export", "sft", str(traces), "--reasoning-from", "template", "--out", str(tmp_path / "sft"), "--eval-fraction", "0.2", "--reasoning", "chain"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "sft: train 4, test 1 rows from 5/5 traces" in out and "2 records skipped" in out
    assert f"skipped {traces}:6: invalid JSON" in err and f"skipped {traces}:7: best_iterate 9 out of range" in err
    row = json.loads((tmp_path / "sft" / "train.jsonl").read_text().splitlines()[0])
    assert row["messages"][-1]["content"].startswith("<think>\nUser need:")


def test_every_export_flag_reaches_the_dataset_options(tmp_path, capsys):
    traces = write_jsonl(tmp_path / "t.jsonl", [make_trace(f"query {i}") for i in range(4)])
    code = main(["export", "preference", str(traces), "--out", str(tmp_path / "p"), "--quiet",
                 "--reasoning", "chain", "--reasoning-from", "template", "--min-safety", "0.5", "--min-constructive", "-0.5",
                 "--system", "Be kind.", "--profile", "include", "--allow-fallbacks", "--max-pairs", "2",
                 "--min-margin", "0.25", "--dedupe", "prompt", "--eval-fraction", "0.5", "--seed", "3",
                 "--drop-contaminated", "--no-history", "--no-leak-check"])
    capsys.readouterr()
    assert code == 0
    options = json.loads((tmp_path / "p" / "manifest.json").read_text())["options"]
    assert options | {"leaks": None} == {
        "reasoning": "chain", "reasoning_from": "template", "min_safety": 0.5, "min_constructive": -0.5,
        "system_prompt": "Be kind.", "include_history": False, "profile": "include", "leak_check": False, "leaks": None,
        "allow_fallbacks": True, "max_pairs": 2, "min_margin": 0.25, "dedupe": "prompt", "eval_fraction": 0.5,
        "seed": 3, "render_with": None, "chat_template": None, "mix": [], "drop_contaminated": True,
    }


def test_export_preference_with_options(tmp_path, capsys):
    traces = write_jsonl(tmp_path / "t.jsonl", [make_trace(), make_trace()])
    code = main(["export", "preference", str(traces), "--reasoning-from", "template", "--out", str(tmp_path / "p"), "--max-pairs", "1",
                 "--eval-fraction", "0", "--system", "Be kind.", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "preference: train 1 rows from 2/2 traces" in out and "1 duplicates dropped" in out
    row = json.loads((tmp_path / "p" / "train.jsonl").read_text())
    assert row["prompt"][0] == {"role": "system", "content": "Be kind."}
    assert row["lineage"]["rejected_kind"] == "unsafe"


def test_export_fails_cleanly_without_rows_or_with_bad_options(tmp_path, capsys):
    traces = write_jsonl(tmp_path / "t.jsonl", ["nope"])
    assert main(["export", "sft", str(traces), "--reasoning-from", "template", "--out", str(tmp_path / "o")]) == 2
    assert "no sft rows" in capsys.readouterr().err
    assert main(["export", "sft", str(traces), "--reasoning-from", "template", "--out", str(tmp_path / "o"), "--eval-fraction", "1.5"]) == 2
    assert "eval_fraction" in capsys.readouterr().err
    assert main(["export", "sft", str(traces), "--reasoning-from", "template", "--out", str(tmp_path / "o"), "--chat-template", "t.jinja"]) == 2
    assert "--render-with" in capsys.readouterr().err


def test_distill_rejects_mismatched_data_before_loading_anything(tmp_path, capsys):
    traces = write_jsonl(tmp_path / "t.jsonl", [make_trace()])
    assert main(["export", "sft", str(traces), "--reasoning-from", "template", "--out", str(tmp_path / "sft"), "--quiet"]) == 0
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    code = main(["distill", "dpo", "--data", str(tmp_path / "sft"), "--base", str(base), "--out", str(tmp_path / "run")])
    assert code == 2
    assert "dpo trains on preference data" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    assert main(["distill", "sft", "--data", str(tmp_path / "none"), "--base", str(base), "--out", str(tmp_path / "run")]) == 2
    assert "has no train.jsonl" in capsys.readouterr().err
    assert main(["distill", "sft", "--base", str(base), "--out", str(tmp_path / "run")]) == 2
    assert "data_dir: Field required" in capsys.readouterr().err
    assert main(["distill", "sft", "--data", str(tmp_path / "sft"), "--base", str(tmp_path), "--out", "r"]) == 2
    assert "not a local transformers folder" in capsys.readouterr().err


def test_chat_rejects_a_folder_that_is_no_model(tmp_path, capsys):
    assert main(["chat", "--model", str(tmp_path), "hello"]) == 2
    assert "neither a model folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>\nplan\n</think>\n\nanswer", ("plan", "answer", True)),
        ("plain answer", ("", "plain answer", True)),
        ("<think>cut off", ("", "cut off", False)),
        ("plan</think>answer", ("plan", "answer", True)),
    ],
)
def test_split_thinking(text, expected):
    assert split_thinking(text) == expected
