"""Merge a trained LoRA adapter into a full checkpoint, and what serving the adapter as it is (vLLM multi-LoRA) needs.

Merging is checked, not trusted: the adapter on a fresh base and the merged checkpoint reloaded from
disk are run on probe prompts, and their logits must agree within a tolerance, or the export fails
loudly and the merged folder is set aside.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from oyster_agents.errors import ConfigError, OysterError

# Largest |Δ logit| accepted between adapter and merged model, by the merged weights' dtype.
# fp32 merges agree to ~1e-5; half precision rounds W + BA once per weight.
DEFAULT_TOLERANCE = {"float32": 1e-3, "bfloat16": 0.5, "float16": 0.1}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


class ParityError(OysterError):
    """The merged checkpoint does not reproduce the adapter's logits."""


class ParityReport(BaseModel):
    """Adapter vs merged logits on probe prompts."""

    max_abs_diff: float
    mean_abs_diff: float
    top1_agreement: float
    tolerance: float
    prompts: int
    tokens: int
    dtype: str
    passed: bool


def read_adapter_config(adapter_dir: str | Path) -> dict[str, Any]:
    """The adapter's ``adapter_config.json``."""
    path = Path(adapter_dir) / "adapter_config.json"
    if not path.is_file():
        raise ConfigError(f"{adapter_dir} is not a LoRA adapter folder (no adapter_config.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def serving_notes(adapter_dir: str | Path) -> list[str]:
    """What vLLM's multi-LoRA serving needs to know about this adapter (empty when nothing special)."""
    cfg = read_adapter_config(adapter_dir)
    notes = []
    rank = int(cfg.get("r") or 0)
    if rank > 16:
        notes.append(f"rank {rank} is above vLLM's default --max-lora-rank 16: start vLLM with --max-lora-rank {rank}")
    if cfg.get("modules_to_save"):
        notes.append("the adapter has modules_to_save, which vLLM's LoRA serving does not load: serve the merged model")
    if cfg.get("use_dora"):
        notes.append("DoRA adapters are not served by vLLM's LoRA support: serve the merged model")
    return notes


def merge_adapter(
    adapter_dir: str | Path,
    out_dir: str | Path,
    *,
    base_model: str | Path | None = None,
    dtype: str = "auto",
    device: str = "cpu",
    probes: Sequence[str] = (),
    tolerance: float | None = None,
) -> ParityReport | None:
    """Merge a LoRA adapter into its base and save a full checkpoint with tokenizer and chat template.

    Args:
        adapter_dir: the adapter folder (``adapter_config.json``, weights, usually the tokenizer).
        out_dir: where the merged checkpoint goes (replaced if present).
        base_model: the base folder; defaults to the one recorded in the adapter config.
        dtype: dtype of the merged weights; ``auto`` keeps the base checkpoint's.
        device: where to merge (``cpu`` or ``cuda``).
        probes: user prompts for the parity check; none skips it.
        tolerance: largest accepted |Δ logit|; ``None`` picks one for the dtype.

    Returns:
        The parity report, or ``None`` without probes.

    Raises:
        ParityError: the merged model disagrees with the adapter; the folder is renamed ``<out_dir>.failed-parity``.

    Example:
        >>> merge_adapter("run/adapter", "run/merged", probes=["Hello"])
        ParityReport(max_abs_diff=3.8e-06, ..., passed=True)
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir, out = Path(adapter_dir), Path(out_dir)
    base = str(base_model or read_adapter_config(adapter_dir).get("base_model_name_or_path") or "")
    if not base or not (Path(base) / "config.json").is_file():
        raise ConfigError(f"base model {base!r} of adapter {adapter_dir} is not a local model folder; pass base_model")
    torch_dtype = _resolve_dtype(base, dtype)
    tokenizer_src = adapter_dir if any((adapter_dir / f).is_file() for f in TOKENIZER_FILES) else Path(base)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_src), local_files_only=True)

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype, local_files_only=True).to(device)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).eval()
    inputs = _probe_inputs(tokenizer, probes)
    reference = [_logits(model, ids, device) for ids in inputs]
    merged = model.merge_and_unload()
    if out.exists():
        shutil.rmtree(out)
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    del merged, model
    if not inputs:
        return None

    reloaded = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch_dtype, local_files_only=True).to(device).eval()
    candidate = [_logits(reloaded, ids, device) for ids in inputs]
    del reloaded
    diffs = [(a - b).abs() for a, b in zip(reference, candidate)]
    dtype_name = str(torch_dtype).removeprefix("torch.")
    limit = tolerance if tolerance is not None else DEFAULT_TOLERANCE.get(dtype_name, 0.5)
    agree = sum(int((a.argmax(-1) == b.argmax(-1)).sum()) for a, b in zip(reference, candidate))
    tokens = sum(int(a.shape[0]) for a in reference)
    report = ParityReport(
        max_abs_diff=max(float(d.max()) for d in diffs),
        mean_abs_diff=sum(float(d.sum()) for d in diffs) / sum(d.numel() for d in diffs),
        top1_agreement=agree / tokens,
        tolerance=limit,
        prompts=len(inputs),
        tokens=tokens,
        dtype=dtype_name,
        passed=False,
    )
    report.passed = report.max_abs_diff <= limit
    (out / "parity.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if not report.passed:
        failed = out.with_name(out.name + ".failed-parity")
        if failed.exists():
            shutil.rmtree(failed)
        out.rename(failed)
        raise ParityError(
            f"merged checkpoint disagrees with the adapter: max |Δ logit| {report.max_abs_diff:.3g} > tolerance "
            f"{limit:.3g} on {report.prompts} probes ({report.top1_agreement:.1%} same top token). It was moved to "
            f"{failed}; serve the adapter instead, or merge in float32 (--merge-dtype float32)."
        )
    return report


def _resolve_dtype(base: str, dtype: str) -> Any:
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    config = json.loads((Path(base) / "config.json").read_text(encoding="utf-8"))
    name = config.get("dtype") or config.get("torch_dtype") or "float32"
    return getattr(torch, str(name).removeprefix("torch."), torch.float32)


def _probe_inputs(tokenizer: Any, probes: Sequence[str]) -> list[list[int]]:
    inputs = []
    for probe in probes:
        if tokenizer.chat_template:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": probe}], add_generation_prompt=True, tokenize=True)
            if hasattr(ids, "keys"):
                ids = ids["input_ids"]
        else:
            ids = tokenizer(probe)["input_ids"]
        inputs.append(list(ids))
    return inputs


def _logits(model: Any, ids: list[int], device: str) -> Any:
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids], device=device))
    return out.logits[0].float().cpu()
