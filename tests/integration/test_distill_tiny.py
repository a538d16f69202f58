"""LoRA training on a tiny random model: ORPO/DPO margins grow, merge parity holds (and a bad merge is
caught), exported datasets load with ``datasets`` and go straight into the TRL trainers, runs resume.
The SFT loss curve is checked in ``test_distill_pipeline``, which trains the same model longer."""

from __future__ import annotations

import json
import re

import pytest

from oyster_agents.distill import DatasetOptions, DistillConfig, export_dataset, make_tiny_model, train
from oyster_agents.errors import ConfigError

from .test_distill_pipeline import write_teacher_traces

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    files = write_teacher_traces(root / "traces")
    export_dataset("sft", files, root / "sft", DatasetOptions(eval_fraction=0.25))
    export_dataset("preference", files, root / "pref", DatasetOptions(eval_fraction=0.25))
    return root


def _config(tiny, data, out, method="sft", **kw) -> DistillConfig:
    kind = "sft" if method == "sft" else "pref"
    defaults = dict(batch_size=4, logging_steps=1, save_steps=1000, export="adapter", lora={"r": 16, "alpha": 32, "dropout": 0.0})
    return DistillConfig(method=method, base_model=str(tiny), data_dir=str(data / kind), output_dir=str(out), **{**defaults, **kw})


def _logged(result, key):
    return [h[key] for h in result.log_history if key in h]


def test_exported_datasets_load_and_go_straight_into_trl_trainers(tiny, data, tmp_path):
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOTrainer, SFTTrainer
    from trl.experimental.orpo import ORPOTrainer

    sft = load_dataset(str(data / "sft"), cache_dir=str(tmp_path / "cache"))
    pref = load_dataset(str(data / "pref"), cache_dir=str(tmp_path / "cache"))
    assert set(sft) == {"train", "test"} and set(pref) == {"train", "test"}
    assert {"messages", "lineage"} <= set(sft["train"].column_names)
    assert {"prompt", "chosen", "rejected", "lineage"} <= set(pref["train"].column_names)
    assert all(re.search(r"(batch\.jsonl:[1-7]|run\.json:1)$", src) for src in sft["train"]["lineage"]["source"])

    tokenizer = AutoTokenizer.from_pretrained(str(tiny))
    for method, trainer_cls, dataset in (("sft", SFTTrainer, sft), ("dpo", DPOTrainer, pref), ("orpo", ORPOTrainer, pref)):
        args = _config(tiny, data, tmp_path / method, method, max_steps=1).trl_config(gpu=False, has_eval=True)
        trainer = trainer_cls(model=AutoModelForCausalLM.from_pretrained(str(tiny)), args=args, processing_class=tokenizer,
                              train_dataset=dataset["train"], eval_dataset=dataset["test"], peft_config=_config(tiny, data, tmp_path).lora.to_peft())
        assert trainer.train().global_step == 1


def test_trl_configs_are_cpu_safe_although_trl_defaults_differ(tiny, data, tmp_path):
    from trl import SFTConfig

    assert SFTConfig(output_dir=str(tmp_path / "x"), use_cpu=True).bf16 is True  # TRL's own default
    args = _config(tiny, data, tmp_path, max_steps=1).trl_config(gpu=False)
    assert isinstance(args, SFTConfig) and args.bf16 is False and args.gradient_checkpointing is False and args.use_cpu


@pytest.mark.parametrize(("method", "steps", "lr", "beta"), [("dpo", 6, 1e-3, 0.1), ("orpo", 10, 3e-3, 0.5)])
def test_preference_reward_margins_grow(tiny, data, tmp_path, method, steps, lr, beta):
    config = _config(tiny, data, tmp_path / method, method, max_steps=steps, learning_rate=lr, beta=beta, lr_scheduler="constant")
    result = train(config, stream=None)
    margins = _logged(result, "rewards/margins")
    assert len(margins) == steps
    assert sum(margins[-3:]) / 3 > sum(margins[:3]) / 3 + 1e-3, margins
    assert _logged(result, "rewards/accuracies")[-1] > 0.5


def test_merge_parity_holds_and_the_merged_checkpoint_reloads(tiny, data, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = train(_config(tiny, data, tmp_path / "run", max_steps=4, learning_rate=3e-3, export="both"), stream=None)
    assert result.parity is not None and result.parity.passed and result.parity.max_abs_diff < 1e-3
    assert result.parity.top1_agreement == 1.0 and result.parity.prompts == 2
    merged = tmp_path / "run" / "merged"
    model = AutoModelForCausalLM.from_pretrained(str(merged))
    tokenizer = AutoTokenizer.from_pretrained(str(merged))
    assert "{% generation %}" in tokenizer.chat_template and model.num_parameters() > 3_000_000
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["parity"]["passed"] is True


def test_a_broken_merge_fails_loudly(tiny, data, tmp_path, monkeypatch):
    import torch
    from peft.tuners.tuners_utils import BaseTuner

    from oyster_agents.distill import ParityError, merge_adapter

    train(_config(tiny, data, tmp_path / "run", max_steps=2, learning_rate=3e-3), stream=None)
    real_merge = BaseTuner.merge_and_unload

    def corrupted(self, *args, **kwargs):
        model = real_merge(self, *args, **kwargs)
        with torch.no_grad():
            model.lm_head.weight.add_(0.05)
        return model

    monkeypatch.setattr(BaseTuner, "merge_and_unload", corrupted)
    with pytest.raises(ParityError, match="disagrees with the adapter"):
        merge_adapter(tmp_path / "run" / "adapter", tmp_path / "merged", base_model=tiny, probes=["hello"])
    assert (tmp_path / "merged.failed-parity" / "parity.json").is_file() and not (tmp_path / "merged").exists()


def test_training_resumes_from_the_last_checkpoint(tiny, data, tmp_path):
    out = tmp_path / "run"
    first = train(_config(tiny, data, out, max_steps=4, save_steps=2), stream=None)
    assert first.steps == 4 and first.resumed_from is None
    second = train(_config(tiny, data, out, max_steps=6, save_steps=2), stream=None)
    assert second.resumed_from is not None and second.resumed_from.endswith("checkpoint-4")
    assert second.steps == 6 and [h["step"] for h in second.log_history if "loss" in h][-2:] == [5, 6]
    with pytest.raises(ConfigError, match="another run"):
        train(_config(tiny, data, out, "dpo", max_steps=8), stream=None)


def test_rendered_text_rows_train_with_completion_only_loss(tiny, data, tmp_path):
    files = sorted(str(p) for p in (data / "traces").iterdir())
    report = export_dataset("sft", files, tmp_path / "text", DatasetOptions(render_with=str(tiny), eval_fraction=0))
    row = json.loads((tmp_path / "text" / "train.jsonl").read_text().splitlines()[0])
    assert row["prompt"].endswith("<|im_start|>assistant\n") and row["completion"].endswith("<|im_end|>")
    assert report.rendered and not report.conversational
    config = _config(tiny, data, tmp_path / "run", max_steps=2).model_copy(update={"data_dir": str(tmp_path / "text")})
    assert train(config, stream=None).steps == 2


def test_packed_sft_runs(tiny, data, tmp_path):
    result = train(_config(tiny, data, tmp_path / "run", max_steps=2, packing=True, max_length=512), stream=None)
    assert result.steps == 2
