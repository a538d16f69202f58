"""DistillConfig: one pydantic object for LoRA SFT / ORPO / DPO, and the only place TRL configs are built.

Defaults follow the hardware: on a GPU, bf16 mixed precision (when supported) and gradient
checkpointing; on CPU both off, because TRL turns them on even there, which is several times slower
and leaves bf16 numerics in later forward passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from oyster_agents.errors import ConfigError

Method = Literal["sft", "orpo", "dpo"]
ExportMode = Literal["adapter", "merged", "both"]
DeviceName = Literal["auto", "cpu", "cuda"]

DEFAULT_LEARNING_RATES: dict[str, float] = {"sft": 2e-4, "orpo": 5e-5, "dpo": 5e-5}
DEFAULT_PROBES = (
    "I feel overwhelmed and can't sleep. What can I do tonight?",
    "How should I store cleaning products safely at home?",
)


class LoraSettings(BaseModel):
    """The PEFT LoRA adapter.

    Attributes:
        r: rank; vLLM serves ranks up to its ``--max-lora-rank`` (16 by default).
        alpha: scaling numerator (``lora_alpha``).
        dropout: dropout on the adapter input.
        target_modules: ``all-linear`` (every linear layer but the output head) or module names.
        use_rslora: rank-stabilised scaling ``alpha / sqrt(r)``.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"
    use_rslora: bool = False

    def to_peft(self) -> Any:
        """The ``peft.LoraConfig`` for a causal language model."""
        from peft import LoraConfig

        return LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.target_modules,
            use_rslora=self.use_rslora,
            bias="none",
            task_type="CAUSAL_LM",
        )


class DistillConfig(BaseModel):
    """Everything one distillation run needs; build it from a YAML/JSON file and flags with ``load``.

    Model and data:
        method: ``sft`` (chat rows), ``orpo`` or ``dpo`` (preference rows).
        base_model: a local transformers folder (on the command line, ``default`` names the embedded
            SmolLM2-135M-Instruct; in Python pass ``oyster_agents.default_model_path()``).
        data_dir: a folder written by ``oyster export`` (``train.jsonl``, optional ``test.jsonl``).
        output_dir: run folder: ``checkpoints/``, ``adapter/``, ``merged/``, ``distill_config.json``, ``metrics.json``.
        lora: the adapter (see ``LoraSettings``).

    Training:
        epochs, max_steps (-1: run the epochs), batch_size (per device), grad_accum, learning_rate
        (``None``: per-method default), lr_scheduler, warmup (steps, or a ratio below 1), weight_decay,
        max_length, packing (SFT), assistant_only_loss (SFT on chat rows), beta (ORPO λ / DPO β),
        seed, logging_steps, save_steps, save_total_limit, eval_steps (``None``: no evaluation),
        resume (continue from the last checkpoint in ``output_dir/checkpoints``).

    Hardware:
        device (``auto`` picks CUDA when present), bf16 and gradient_checkpointing (``None``: on for GPU,
        off for CPU), report_to (``none``, ``tensorboard``, ``wandb`` ...).

    Export:
        export (``adapter``, ``merged`` or ``both``), parity_tolerance (largest allowed logit gap between
        adapter and merged model; ``None``: by dtype), parity_prompts, merge_dtype (``auto``: the base's).

    Escape hatch:
        trl_args: extra keyword arguments passed to the TRL config as they are (they win).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    method: Method = "sft"
    base_model: str
    data_dir: str
    output_dir: str
    lora: LoraSettings = Field(default_factory=LoraSettings)

    epochs: float = Field(default=1.0, gt=0)
    max_steps: int = -1
    batch_size: int = Field(default=4, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    learning_rate: float | None = Field(default=None, gt=0)
    lr_scheduler: str = "cosine"
    warmup: float = Field(default=0.03, ge=0)
    weight_decay: float = Field(default=0.0, ge=0)
    max_length: int = Field(default=2048, ge=16)
    packing: bool = False
    assistant_only_loss: bool = True
    beta: float = Field(default=0.1, gt=0)
    seed: int = 0
    logging_steps: int = Field(default=10, ge=1)
    save_steps: int = Field(default=200, ge=1)
    save_total_limit: int | None = Field(default=2, ge=1)
    eval_steps: int | None = Field(default=None, ge=1)
    resume: bool = True

    device: DeviceName = "auto"
    bf16: bool | None = None
    gradient_checkpointing: bool | None = None
    report_to: str | list[str] = "none"

    export: ExportMode = "both"
    parity_tolerance: float | None = Field(default=None, gt=0)
    parity_prompts: list[str] = Field(default_factory=lambda: list(DEFAULT_PROBES), min_length=1)
    merge_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"

    trl_args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "DistillConfig":
        if self.packing and self.method != "sft":
            raise ValueError("packing applies to sft only; remove it for orpo/dpo")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError("max_steps must be a positive number of steps, or -1 to run the epochs")
        return self

    # ---- loading --------------------------------------------------------------------------------
    @classmethod
    def load(
        cls, path: str | Path | None = None, *, defaults: dict[str, Any] | None = None, **overrides: Any
    ) -> "DistillConfig":
        """Read a YAML/JSON file (optional) over ``defaults`` and apply overrides (``None`` values are ignored).

        Raises:
            ConfigError: unreadable file or invalid settings, with the offending field.
        """
        data: dict[str, Any] = dict(defaults or {})
        if path:
            from oyster_agents._records import read_document

            _, loaded = read_document(path, what="distill config", error=ConfigError)
            if not isinstance(loaded or {}, dict):
                raise ConfigError(f"distill config {path} must be a mapping of settings")
            data.update(loaded or {})
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            from oyster_agents._records import describe_errors

            raise ConfigError(f"invalid distill config: {describe_errors(exc, root='config')}") from exc

    # ---- derived values -------------------------------------------------------------------------
    @property
    def lr(self) -> float:
        """The learning rate, or the method's default."""
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LEARNING_RATES[self.method]

    @property
    def checkpoint_dir(self) -> Path:
        """Where the trainer keeps its checkpoints."""
        return Path(self.output_dir) / "checkpoints"

    @property
    def adapter_dir(self) -> Path:
        """Where the LoRA adapter is written."""
        return Path(self.output_dir) / "adapter"

    @property
    def merged_dir(self) -> Path:
        """Where the merged checkpoint is written."""
        return Path(self.output_dir) / "merged"

    def on_gpu(self) -> bool:
        """Whether training runs on CUDA (``auto`` asks torch)."""
        if self.device == "cpu":
            return False
        import torch

        available = torch.cuda.is_available()
        if self.device == "cuda" and not available:
            raise ConfigError("device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto")
        return available

    def trl_kwargs(
        self, *, gpu: bool, bf16_supported: bool = True, has_eval: bool = False, conversational: bool = True
    ) -> dict[str, Any]:
        """Keyword arguments of the TRL config for this method, without importing TRL.

        Args:
            gpu: training runs on CUDA.
            bf16_supported: the GPU supports bf16 (ignored on CPU).
            has_eval: an evaluation split exists.
            conversational: rows are chat messages (assistant-only loss applies) rather than rendered text
                (then the loss falls on the completion only).
        """
        bf16 = self.bf16 if self.bf16 is not None else (gpu and bf16_supported)
        checkpointing = self.gradient_checkpointing if self.gradient_checkpointing is not None else gpu
        kwargs: dict[str, Any] = {
            "output_dir": str(self.checkpoint_dir),
            "num_train_epochs": self.epochs,
            "max_steps": self.max_steps,
            "per_device_train_batch_size": self.batch_size,
            "per_device_eval_batch_size": self.batch_size,
            "gradient_accumulation_steps": self.grad_accum,
            "learning_rate": self.lr,
            "lr_scheduler_type": self.lr_scheduler,
            "warmup_steps": self.warmup,
            "weight_decay": self.weight_decay,
            "max_length": self.max_length,
            "seed": self.seed,
            "data_seed": self.seed,
            "logging_steps": self.logging_steps,
            "logging_first_step": True,
            "save_strategy": "steps",
            "save_steps": self.save_steps,
            "save_total_limit": self.save_total_limit,
            "report_to": self.report_to,
            "use_cpu": not gpu,
            "bf16": bf16,
            "fp16": False,
            "gradient_checkpointing": checkpointing,
            "disable_tqdm": True,
            "include_num_input_tokens_seen": "non_padding",
            # LoRA leaves most parameters frozen; DDP must not wait for their gradients.
            "ddp_find_unused_parameters": False,
        }
        if checkpointing:
            kwargs["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
        if has_eval and self.eval_steps:
            kwargs.update(eval_strategy="steps", eval_steps=self.eval_steps)
        else:
            kwargs["eval_strategy"] = "no"
        if self.method == "sft":
            kwargs.update(packing=self.packing, assistant_only_loss=self.assistant_only_loss and conversational)
        else:  # ORPO's λ and DPO's β are both TRL's ``beta``
            kwargs["beta"] = self.beta
        kwargs.update(self.trl_args)
        return kwargs

    def trl_config(
        self, *, gpu: bool, bf16_supported: bool = True, has_eval: bool = False, conversational: bool = True
    ) -> Any:
        """The TRL config object (``SFTConfig``, ``ORPOConfig`` or ``DPOConfig``); arguments as ``trl_kwargs``."""
        kwargs = self.trl_kwargs(
            gpu=gpu, bf16_supported=bf16_supported, has_eval=has_eval, conversational=conversational
        )
        if self.method == "sft":
            from trl import SFTConfig

            return SFTConfig(**kwargs)
        if self.method == "dpo":
            from trl import DPOConfig

            return DPOConfig(**kwargs)
        from trl.experimental.orpo import ORPOConfig

        return ORPOConfig(**kwargs)

    def save(self, path: str | Path) -> None:
        """Write the resolved settings as JSON (kept next to the outputs for reproducibility)."""
        Path(path).write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
