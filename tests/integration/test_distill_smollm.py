"""The real path on a real model: traces → export → a few LoRA SFT steps on SmolLM2-135M-Instruct →
a merged checkpoint that transformers reloads → ``oyster chat`` answers with it."""

from __future__ import annotations

import json

import pytest

from oyster_agents.cli import main

from .test_distill_pipeline import QUERIES, write_teacher_traces

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_lora_sft_on_smollm2_then_chat(smollm_dir, tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    files = [str(p) for p in write_teacher_traces(tmp_path / "traces", QUERIES[:4])]
    assert main(["export", "sft", *files, "--out", str(tmp_path / "sft"), "--eval-fraction", "0", "--quiet"]) == 0
    run = tmp_path / "run"
    code = main(["distill", "sft", "--data", str(tmp_path / "sft"), "--base", str(smollm_dir), "--out", str(run),
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
