"""The real path on a real model: traces → export with reasoning written by SmolLM2-135M-Instruct → a
few LoRA SFT steps on it → a merged checkpoint that transformers reloads → ``oyster chat`` answers."""

from __future__ import annotations

import json

import pytest

from oyster_agents.cli import main

from .test_distill_pipeline import QUERIES, write_teacher_traces

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TEMPLATE_OPENINGS = ("Let me work out what this person actually needs.", "First, what is really being asked for?",
                     "The need behind the question:")


def test_model_written_reasoning_export_then_lora_sft_on_smollm2_then_chat(smollm_dir, tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    files = [str(p) for p in write_teacher_traces(tmp_path / "traces", QUERIES[:1])]
    data = tmp_path / "sft"
    assert main(["export", "sft", *files, "--out", str(data), "--eval-fraction", "0", "--quiet",
                 "--model", str(smollm_dir), "--max-tokens", "96"]) == 0
    summary = capsys.readouterr().out
    manifest = json.loads((data / "manifest.json").read_text())
    stats = manifest["stats"]
    assert manifest["writer_model"] and manifest["options"]["reasoning_from"] == "model"
    assert stats["used"] == 1 and stats["reasoning_written"] + stats["reasoning_fallback"] == 1, summary
    assert stats["reasoning_written"] == 1, summary  # the real model wrote a reasoning that validated
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    thoughts = [r["messages"][-1]["content"].split("</think>")[0] for r in rows]
    written = [t for t in thoughts if not any(opening in t for opening in TEMPLATE_OPENINGS)]
    assert len(written) == stats["reasoning_written"] and all(len(t.split()) >= 8 for t in written)
    assert "Reasoning writer model:" in (data / "README.md").read_text()

    run = tmp_path / "run"
    code = main(["distill", "sft", "--data", str(data), "--base", str(smollm_dir), "--out", str(run),
                 "--max-steps", "2", "--batch-size", "1", "--max-length", "384", "--lr", "1e-4", "--logging-steps", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err[-2000:]
    assert "[distill sft] step 2/2 loss=" in err

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["chat_template"] == "chatml"  # SmolLM2's template has no generation markers: patched
    assert metrics["parity"]["passed"] and metrics["parity"]["max_abs_diff"] < 1e-3
    tokenizer = AutoTokenizer.from_pretrained(str(run / "merged"))
    # The patched template keeps SmolLM2's default system prompt, so the student is served as the base was.
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    model = AutoModelForCausalLM.from_pretrained(str(run / "merged"))
    assert model.num_parameters() > 100_000_000

    assert main(["chat", "--model", str(run / "merged"), "--max-tokens", "12", "How do I treat a small burn?"]) == 0
    assert len(capsys.readouterr().out.strip()) > 5
