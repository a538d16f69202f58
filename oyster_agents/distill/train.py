"""LoRA distillation with TRL: SFT on chat rows, ORPO or DPO on preference rows, then export.

``train(config)`` loads the dataset folder written by ``oyster export``, prepares the tokenizer's chat
template (assistant-only loss needs generation markers), trains a PEFT LoRA adapter with progress
lines, resumes from the last checkpoint, saves the adapter and merges it with a parity check.
Under ``accelerate launch`` the trainer runs data-parallel (DDP, DeepSpeed or FSDP, as configured) and
only the main process exports. torch, transformers, trl and peft are imported inside functions.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field

from oyster_agents.distill.chat_template import chatml_training_template, training_template, uses_chatml
from oyster_agents.distill.config import DistillConfig
from oyster_agents.distill.dataset import SPLIT_FILES, read_manifest, read_rows
from oyster_agents.distill.merge import ParityReport, merge_adapter, serving_notes
from oyster_agents.errors import ConfigError

_REQUIRED = {"sft": [("messages",), ("prompt", "completion")], "preference": [("prompt", "chosen", "rejected")]}
# Columns that identify a run rather than configure it: a resumed run must match them.
_RUN_IDENTITY = ("method", "base_model", "data_dir")


class DistillResult(BaseModel):
    """What a distillation run produced (also written to ``output_dir/metrics.json``).

    Attributes:
        method, output_dir: the run.
        steps, resumed_from: optimizer steps at the end, and the checkpoint the run continued from.
        adapter_dir, merged_dir: what was exported (``None`` when not asked for, or not the main process).
        first_loss, last_loss, train_runtime_s, tokens_seen, tokens_per_second: training figures.
        chat_template: where the training chat template came from (``base``, ``trl``, ``chatml``).
        parity: the merge's parity check; serving_notes: what vLLM needs to serve the adapter.
        log_history: the trainer's log entries.
    """

    method: str
    output_dir: str
    steps: int = 0
    resumed_from: str | None = None
    adapter_dir: str | None = None
    merged_dir: str | None = None
    first_loss: float | None = None
    last_loss: float | None = None
    train_runtime_s: float = 0.0
    tokens_seen: int = 0
    tokens_per_second: float | None = None
    chat_template: str = "base"
    parity: ParityReport | None = None
    serving_notes: list[str] = Field(default_factory=list)
    log_history: list[dict[str, Any]] = Field(default_factory=list)


def load_splits(config: DistillConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    """Train and test rows of the dataset folder, without lineage, and whether they are conversational.

    Raises:
        ConfigError: missing folder or rows of the wrong kind for the method.
    """
    data = Path(config.data_dir)
    train_file = data / SPLIT_FILES["train"]
    if not train_file.is_file():
        raise ConfigError(f"{data} has no {SPLIT_FILES['train']}; write one with `oyster export sft|preference ... --out {data}`")
    want = "sft" if config.method == "sft" else "preference"
    manifest = read_manifest(data)
    if manifest is not None and manifest.kind != want:
        raise ConfigError(
            f"{config.method} trains on {want} data but {data} holds {manifest.kind} rows; "
            f"export them with `oyster export {want} TRACES --out DIR`"
        )
    splits = []
    for name in ("train", "test"):
        path = data / SPLIT_FILES[name]
        rows = read_rows(path) if path.is_file() else []
        splits.append([{k: v for k, v in row.items() if k != "lineage"} for row in rows])
    train_rows, test_rows = splits
    if not train_rows:
        raise ConfigError(f"{train_file} is empty")
    if not any(all(key in train_rows[0] for key in keys) for keys in _REQUIRED[want]):
        expected = " or ".join("/".join(keys) for keys in _REQUIRED[want])
        raise ConfigError(f"{config.method} needs rows with {expected}; {train_file} has {sorted(train_rows[0])}")
    conversational = not isinstance(train_rows[0].get("messages", train_rows[0].get("prompt")), str)
    return train_rows, test_rows, conversational


def prepare_tokenizer(tokenizer: Any, config: DistillConfig, conversational: bool) -> str:
    """Give the tokenizer the chat template training needs; returns where it came from.

    ``base`` keeps the base's template; ``trl`` and ``chatml`` are patched templates with generation
    markers (see ``chat_template.training_template``), saved with the adapter and merged model.
    """
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not conversational:
        return "base"
    if config.method == "sft" and config.assistant_only_loss:
        template, source = training_template(tokenizer)
        tokenizer.chat_template = template
        return source
    if not tokenizer.chat_template:
        if not uses_chatml(tokenizer):
            raise ConfigError("the base tokenizer has no chat template and no ChatML tokens; add a chat template to it")
        tokenizer.chat_template = chatml_training_template()
        return "chatml"
    return "base"


def train(config: DistillConfig, *, stream: TextIO | None = sys.stderr, callbacks: list[Any] | None = None) -> DistillResult:
    """Train a LoRA adapter with TRL and export it as ``config.export`` says.

    Args:
        config: the run's settings; ``base_model`` must be a local model folder.
        stream: where progress lines go (``None`` for silence).
        callbacks: extra ``transformers.TrainerCallback`` objects.

    Returns:
        The run's result, also written to ``output_dir/metrics.json``.

    Raises:
        ConfigError: bad data, base model, chat template or a resumed run of another kind.
        ParityError: the merged model does not reproduce the adapter.

    Example:
        >>> cfg = DistillConfig(method="sft", base_model="models/base", data_dir="data/sft", output_dir="runs/sft")
        >>> train(cfg).merged_dir
        'runs/sft/merged'
    """
    # Absolute, because the adapter records it as its base for later merges and `oyster chat`.
    base = Path(config.base_model).resolve()
    if not (base / "config.json").is_file():
        raise ConfigError(f"base model {base} is not a local transformers folder (no config.json)")
    train_rows, test_rows, conversational = load_splits(config)
    out = Path(config.output_dir)
    resume = None
    if config.resume and config.checkpoint_dir.is_dir():
        from transformers.trainer_utils import get_last_checkpoint

        resume = get_last_checkpoint(str(config.checkpoint_dir))
    _check_same_run(out / "distill_config.json", config, resume)
    out.mkdir(parents=True, exist_ok=True)
    if not config.resume and config.checkpoint_dir.is_dir() and os.environ.get("RANK", "0") == "0":
        shutil.rmtree(config.checkpoint_dir)  # starting over: old checkpoints would be resumed by mistake later

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    gpu = config.on_gpu()
    bf16_ok = bool(gpu and torch.cuda.is_bf16_supported())
    args = config.trl_config(gpu=gpu, bf16_supported=bf16_ok, has_eval=bool(test_rows), conversational=conversational)

    set_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    template_source = prepare_tokenizer(tokenizer, config, conversational)
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype, local_files_only=True)
    if model.generation_config is not None and tokenizer.eos_token_id is not None:
        model.generation_config.eos_token_id = tokenizer.eos_token_id

    import datasets
    from datasets import Dataset

    datasets.disable_progress_bars()  # per-map bars drown the progress lines

    trainer_cls = _trainer_class(config.method)
    all_callbacks = list(callbacks or [])
    if stream is not None:
        all_callbacks.append(progress_callback(config.method, stream))
    trainer = trainer_cls(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(test_rows) if test_rows and config.eval_steps else None,
        processing_class=tokenizer,
        peft_config=config.lora.to_peft(),
        callbacks=all_callbacks,
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # raw log dicts; the progress callback prints readable lines
    if trainer.is_world_process_zero():
        config.save(out / "distill_config.json")
        if resume and stream is not None:
            print(f"[distill {config.method}] resuming from {resume}", file=stream, flush=True)
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume)
    runtime = time.perf_counter() - started

    adapter_dir = config.adapter_dir if config.export != "merged" else out / ".adapter-for-merge"
    trainer.save_model(str(adapter_dir))
    history = list(trainer.state.log_history)
    steps = int(trainer.state.global_step)
    tokens = int(getattr(trainer.state, "num_input_tokens_seen", 0) or 0)
    is_main = trainer.is_world_process_zero()
    trainer.accelerator.wait_for_everyone()
    del trainer, model
    _free_memory()

    losses = [h["loss"] for h in history if "loss" in h]
    result = DistillResult(
        method=config.method,
        output_dir=str(out),
        resumed_from=resume,
        steps=steps,
        first_loss=losses[0] if losses else None,
        last_loss=losses[-1] if losses else None,
        train_runtime_s=float(output.metrics.get("train_runtime", runtime)),
        tokens_seen=tokens,
        tokens_per_second=tokens / runtime if tokens and runtime > 0 else None,
        chat_template=template_source,
        log_history=history,
    )
    if not is_main:
        return result
    if config.export != "merged":
        result.adapter_dir = str(adapter_dir)
        result.serving_notes = serving_notes(adapter_dir)
    if config.export != "adapter":
        if stream is not None:
            print(f"[distill {config.method}] merging the adapter into {config.merged_dir}", file=stream, flush=True)
        result.parity = merge_adapter(
            adapter_dir,
            config.merged_dir,
            base_model=base,
            dtype=config.merge_dtype,
            device="cuda" if gpu else "cpu",
            probes=config.parity_prompts,
            tolerance=config.parity_tolerance,
        )
        result.merged_dir = str(config.merged_dir)
        if config.export == "merged":
            shutil.rmtree(adapter_dir, ignore_errors=True)
    (out / "metrics.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return result


def progress_callback(method: str, stream: TextIO) -> Any:
    """A trainer callback that prints one line per log: step, loss, learning rate, speed and ETA."""
    from transformers import TrainerCallback

    class _Progress(TrainerCallback):
        def __init__(self) -> None:
            self.started = time.perf_counter()
            self.first_step = 0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()
            self.first_step = state.global_step
            if state.is_world_process_zero:
                print(f"[distill {method}] training {state.max_steps} steps from step {state.global_step}", file=stream, flush=True)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
            if not state.is_world_process_zero or not logs:
                return
            if "train_loss" in logs:
                loss = logs.get("train_loss")
                summary = f" mean loss={float(loss):.4g}" if loss is not None else ""
                print(f"[distill {method}] done: {state.global_step} steps in {float(logs['train_runtime']):.1f}s{summary}",
                      file=stream, flush=True)
                return
            done = state.global_step - self.first_step
            elapsed = time.perf_counter() - self.started
            rate = done / elapsed if elapsed > 0 and done else 0.0
            eta = (state.max_steps - state.global_step) / rate if rate else 0.0
            parts = [f"step {state.global_step}/{state.max_steps}"]
            for key in ("loss", "eval_loss", "rewards/margins", "rewards/accuracies", "learning_rate"):
                if key in logs:
                    parts.append(f"{key.split('/')[-1] if key != 'rewards/margins' else 'margin'}={float(logs[key]):.4g}")
            if rate:
                parts.append(f"{rate:.2f} step/s, eta {eta:.0f}s")
            print(f"[distill {method}] " + " ".join(parts), file=stream, flush=True)

    return _Progress()


def _trainer_class(method: str) -> Any:
    if method == "sft":
        from trl import SFTTrainer

        return SFTTrainer
    if method == "dpo":
        from trl import DPOTrainer

        return DPOTrainer
    from trl.experimental.orpo import ORPOTrainer

    return ORPOTrainer


def _check_same_run(path: Path, config: DistillConfig, resume: str | None) -> None:
    if not resume or not path.is_file():
        return
    previous = json.loads(path.read_text(encoding="utf-8"))
    current = config.model_dump(mode="json")
    changed = [key for key in _RUN_IDENTITY if previous.get(key) != current.get(key)]
    if changed:
        raise ConfigError(
            f"{config.output_dir} holds checkpoints of another run ({', '.join(changed)} differ); "
            "use a new --out, or --no-resume to start over in this folder"
        )


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
