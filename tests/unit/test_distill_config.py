"""DistillConfig → TRL keyword arguments (hardware defaults, per-method settings) and chat templates."""

from __future__ import annotations

import pytest
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

from oyster_agents.distill.chat_template import (
    chatml_training_template,
    default_system_prompt,
    has_generation_markers,
    training_template,
)
from oyster_agents.distill.config import DistillConfig
from oyster_agents.errors import ConfigError


def cfg(**kw) -> DistillConfig:
    return DistillConfig(data_dir="data", output_dir="out", base_model="base", **kw)


def test_cpu_turns_off_bf16_and_gradient_checkpointing():
    kw = cfg().trl_kwargs(gpu=False)
    assert kw["use_cpu"] is True and kw["bf16"] is False and kw["gradient_checkpointing"] is False
    assert "gradient_checkpointing_kwargs" not in kw and kw["fp16"] is False


def test_gpu_turns_them_on_where_supported_and_explicit_settings_win():
    kw = cfg().trl_kwargs(gpu=True, bf16_supported=True)
    assert kw["use_cpu"] is False and kw["bf16"] is True and kw["gradient_checkpointing"] is True
    assert kw["gradient_checkpointing_kwargs"] == {"use_reentrant": False}
    assert cfg().trl_kwargs(gpu=True, bf16_supported=False)["bf16"] is False
    kw = cfg(bf16=False, gradient_checkpointing=False).trl_kwargs(gpu=True)
    assert kw["bf16"] is False and kw["gradient_checkpointing"] is False
    assert cfg(bf16=True).trl_kwargs(gpu=False)["bf16"] is True


def test_method_specific_settings_and_learning_rate_defaults():
    sft = cfg(packing=True).trl_kwargs(gpu=False)
    assert sft["packing"] is True and sft["assistant_only_loss"] is True and "beta" not in sft
    assert sft["learning_rate"] == 2e-4 and sft["output_dir"].endswith("checkpoints")
    assert cfg().trl_kwargs(gpu=False, conversational=False)["assistant_only_loss"] is False
    dpo = cfg(method="dpo", beta=0.3).trl_kwargs(gpu=False)
    assert dpo["beta"] == 0.3 and "packing" not in dpo and dpo["learning_rate"] == 5e-5
    assert cfg(method="orpo", learning_rate=1e-3).trl_kwargs(gpu=False)["learning_rate"] == 1e-3


def test_seed_steps_eval_and_escape_hatch():
    kw = cfg(seed=7, max_steps=12, eval_steps=5).trl_kwargs(gpu=False, has_eval=True)
    assert (kw["seed"], kw["data_seed"], kw["max_steps"]) == (7, 7, 12)
    assert kw["eval_strategy"] == "steps" and kw["eval_steps"] == 5
    assert cfg(eval_steps=5).trl_kwargs(gpu=False, has_eval=False)["eval_strategy"] == "no"
    assert cfg(trl_args={"bf16": True, "optim": "adamw_torch_fused"}).trl_kwargs(gpu=False)["bf16"] is True


def test_load_reads_yaml_applies_overrides_and_names_bad_fields(tmp_path):
    path = tmp_path / "distill.yaml"
    path.write_text("method: orpo\nbase_model: m\ndata_dir: d\noutput_dir: o\nlora: {r: 8}\nbatch_size: 2\n")
    config = DistillConfig.load(path, batch_size=None, max_steps=5)
    assert (config.method, config.lora.r, config.batch_size, config.max_steps) == ("orpo", 8, 2, 5)
    with pytest.raises(ConfigError, match="packing applies to sft only"):
        DistillConfig.load(path, packing=True)
    with pytest.raises(ConfigError, match="lora.r"):
        DistillConfig.load(path, lora={"r": 0})
    with pytest.raises(ConfigError, match="data_dir: Field required"):
        DistillConfig.load(None, output_dir="o", base_model="m")
    assert DistillConfig.load(path, defaults={"base_model": "x", "seed": 3}).base_model == "m"  # the file wins
    assert DistillConfig.load(None, defaults={"base_model": "x"}, data_dir="d", output_dir="o").base_model == "x"
    with pytest.raises(ConfigError, match="cannot read"):
        DistillConfig.load(tmp_path / "nope.yaml")


# ---- chat templates ----------------------------------------------------------------------------------
class _Generation(Extension):
    """The ``{% generation %}`` block as transformers defines it, without the mask bookkeeping."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


class FakeTokenizer:
    def __init__(self, template: str | None, vocab=("<|im_start|>", "<|im_end|>")) -> None:
        self.chat_template = template
        self._vocab = {t: i for i, t in enumerate(vocab)}
        self._env = ImmutableSandboxedEnvironment(extensions=[_Generation])

    def get_vocab(self):
        return dict(self._vocab)

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        return self._env.from_string(self.chat_template).render(messages=messages, add_generation_prompt=add_generation_prompt)


SMOL_LIKE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def test_chatml_template_marks_the_answer_and_its_end_of_turn():
    tok = FakeTokenizer(chatml_training_template())
    assert has_generation_markers(tok.chat_template) and not has_generation_markers(SMOL_LIKE)
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n"
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}" in tok.chat_template


def test_patched_chatml_keeps_the_base_default_system_prompt_and_renders_identically():
    base = FakeTokenizer(SMOL_LIKE)
    assert default_system_prompt(base) == "You are a helpful assistant"
    patched = FakeTokenizer(chatml_training_template(default_system_prompt(base)))
    for messages in (
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    ):
        assert patched.apply_chat_template(messages) == base.apply_chat_template(messages)


def test_training_template_sources_and_the_clear_failure():
    marked = FakeTokenizer(chatml_training_template())
    assert training_template(marked) == (marked.chat_template, "base")
    template, source = training_template(FakeTokenizer(None))
    assert source == "chatml" and has_generation_markers(template)
    with pytest.raises(ConfigError, match="generation %} markers.*no ChatML tokens"):
        training_template(FakeTokenizer(None, vocab=("<s>", "</s>")))
