"""int8 linear layers on the real SmolLM2-135M: the layers left in float32 keep its perplexity close."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TEXT = Path(__file__).resolve().parents[2] / "README.md"


def test_int8_keeps_perplexity_close_where_quantizing_every_layer_would_triple_it(smollm_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from oyster_agents.backends._int8 import quantize_int8

    tokenizer = AutoTokenizer.from_pretrained(smollm_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm_dir, dtype=torch.float32).eval()
    ids = tokenizer(TEXT.read_text(), return_tensors="pt").input_ids[:, :768]

    def perplexity(m) -> float:
        with torch.inference_mode():
            return torch.exp(m(ids, labels=ids).loss).item()

    every_layer = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
    base, ours, naive = perplexity(model), perplexity(quantize_int8(copy.deepcopy(model))), perplexity(every_layer)
    assert ours <= 1.25 * base, (base, ours)
    assert naive >= 2 * base, (base, naive)  # the reason some layers stay float32
