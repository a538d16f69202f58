"""The local backend (tiny random model): it closes a constrained JSON object before max_tokens cuts
it, its micro-batcher runs concurrent calls together, and ``quantize: int8`` swaps in int8 linear layers."""

from __future__ import annotations

import json
import threading

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from oyster_agents.backends._closing import closing_starts, closing_token_ids, skeleton_tokens
from oyster_agents.backends.structured import json_schema_of

pytest.importorskip("transformers")
pytest.importorskip("xgrammar")


class Note(BaseModel):
    title: str
    body: str
    tags: list[str]


PROMPT = [SystemMessage("You write notes as JSON objects with a title, a body and tags. " * 3),
          HumanMessage("Write a note about keeping herbs fresh.")]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from oyster_agents.distill import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_an_object_the_budget_would_cut_is_closed_inside_it(tiny_dir, monkeypatch):
    from oyster_agents.backends import local

    model = local.LocalChatModel(model_path=str(tiny_dir))
    schema = json_schema_of(Note)
    monkeypatch.setattr(local, "CLOSE_BEFORE_BUDGET", False)
    cut = model.invoke(PROMPT, json_schema=schema, max_tokens=48)
    assert cut.response_metadata["finish_reason"] == "length"  # the random model rambles past 48 tokens
    monkeypatch.setattr(local, "CLOSE_BEFORE_BUDGET", True)
    closed = model.invoke(PROMPT, json_schema=schema, max_tokens=48)
    assert closed.response_metadata["finish_reason"] == "closed"  # ended by the closer, not the model
    assert closed.usage_metadata["output_tokens"] <= 48
    note = Note.model_validate_json(closed.content)  # every key, the model's own start kept
    assert closed.content[:12] == cut.content[:12] and note.title
    assert model.stats["calls"] == 2


def test_closing_starts_from_the_skeleton_reserve_and_never_in_the_first_half(tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    quotes, brackets = closing_token_ids(tok)
    assert {tok.convert_ids_to_tokens(i)[0] for i in quotes} == {'"'}
    assert brackets and all(set(tok.convert_ids_to_tokens(i)) <= set("]}") for i in brackets)
    reserve = skeleton_tokens(tok, json_schema_of(Note))
    assert reserve == len(tok.encode(json.dumps({"title": "x", "body": "x", "tags": ["x"]}))) + 1
    assert closing_starts(256, reserve) == 256 - reserve and closing_starts(20, reserve) == 10


def test_concurrent_calls_share_one_generation(tiny_dir):
    from oyster_agents.backends import local

    model = local.LocalChatModel(model_path=str(tiny_dir), batch_wait_ms=500)
    alone = model.invoke(PROMPT, max_tokens=8).content
    runs: list[AIMessage] = []
    calls = []

    def run_batch(batch):
        calls.append(len(batch))
        return original(batch)

    original = model._run_batch
    model._batcher._run_batch = run_batch
    threads = [threading.Thread(target=lambda: runs.append(model.invoke(PROMPT, max_tokens=8))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [3] and [r.content for r in runs] == [alone] * 3


def test_int8_quantization_comes_from_the_role_config_and_still_generates(tiny_dir):
    import torch

    from oyster_agents.backends import make_chat_model
    from oyster_agents.config import RoleModelConfig
    from oyster_agents.errors import ConfigError

    model = make_chat_model(RoleModelConfig(model=str(tiny_dir), quantize="int8"))
    reply = model.invoke(PROMPT, json_schema=json_schema_of(Note), max_tokens=48)
    Note.model_validate_json(reply.content)
    quantized = {name for name, m in model._model.named_modules()
                 if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)}
    floating = {name for name, m in model._model.named_modules() if type(m) is torch.nn.Linear}
    # The tiny model has 4 blocks: the middle two are quantized but for their MLP down projections;
    # the first and last blocks and the output head stay float32 (backends/_int8.py says why).
    middle = {f"model.layers.{i}.{part}" for i in (1, 2) for part in
              ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj")}
    assert quantized == middle
    assert {"lm_head", "model.layers.0.self_attn.q_proj", "model.layers.3.mlp.up_proj",
            "model.layers.1.mlp.down_proj", "model.layers.2.mlp.down_proj"} <= floating
    assert make_chat_model(RoleModelConfig(model=str(tiny_dir)))._model is None  # float32 unless asked
    wrong = make_chat_model(RoleModelConfig(model=str(tiny_dir), quantize="int8", dtype="bfloat16"))
    with pytest.raises(ConfigError, match="float32"):
        wrong.invoke("hi")
