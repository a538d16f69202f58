"""``oyster distill sft|orpo|dpo --data DIR --base MODEL --out DIR``: LoRA training with TRL, then export."""

from __future__ import annotations

import argparse
from typing import Any


# Flags that set the DistillConfig field named by their dest; a flag left out keeps the --config file's value.
_SETTINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("--data", "data_dir", {"metavar": "DIR", "help": "dataset folder written by `oyster export`"}),
    ("--base", "base_model", {"metavar": "MODEL_DIR", "help": "local base model folder, or 'default' (embedded "
                              "SmolLM2-135M-Instruct; used when neither this nor --config sets one)"}),
    ("--out", "output_dir", {"metavar": "DIR", "help": "run folder: checkpoints/, adapter/, merged/"}),
    ("--export", "export", {"choices": ["adapter", "merged", "both"], "help": "what to write (default both)"}),
    ("--max-steps", "max_steps", {"type": int, "metavar": "N", "help": "stop after N optimizer steps"}),
    ("--epochs", "epochs", {"type": float, "metavar": "E", "help": "epochs over the data (default 1)"}),
    ("--lr", "learning_rate", {"type": float, "metavar": "LR", "help": "learning rate (default: 2e-4 sft, 5e-5 orpo/dpo)"}),
    ("--batch-size", "batch_size", {"type": int, "metavar": "B", "help": "per-device batch size"}),
    ("--grad-accum", "grad_accum", {"type": int, "metavar": "K", "help": "gradient accumulation steps"}),
    ("--max-length", "max_length", {"type": int, "metavar": "T", "help": "longest tokenized row"}),
    ("--packing", "packing", {"action": "store_true", "default": None, "help": "sft: pack rows into full sequences"}),
    ("--beta", "beta", {"type": float, "help": "ORPO λ / DPO β"}),
    ("--seed", "seed", {"type": int, "help": "training seed"}),
    ("--device", "device", {"choices": ["auto", "cpu", "cuda"], "help": "where to train (default auto)"}),
    ("--logging-steps", "logging_steps", {"type": int, "metavar": "N", "help": "log every N steps"}),
    ("--save-steps", "save_steps", {"type": int, "metavar": "N", "help": "checkpoint every N steps"}),
    ("--merge-dtype", "merge_dtype", {"choices": ["auto", "float32", "bfloat16", "float16"],
                                      "help": "dtype of the merged weights"}),
]
HELP = "train a LoRA student on an exported dataset (SFT, ORPO or DPO) and export it"
DESCRIPTION = ("Flags override the --config file. Run it under `accelerate launch -m oyster_agents.cli distill ...` "
                "for several GPUs.")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``distill``."""
    parser = sub.add_parser("distill", help=HELP, description=DESCRIPTION)
    parser.add_argument("method", choices=["sft", "orpo", "dpo"], help="sft on chat rows; orpo or dpo on preference rows")
    parser.add_argument("--config", metavar="FILE", help="YAML or JSON DistillConfig (see docs/distillation.md)")
    for flag, field, spec in _SETTINGS:
        parser.add_argument(flag, dest=field, **spec)
    parser.add_argument("--lora-r", type=int, metavar="R", help="LoRA rank")
    parser.add_argument("--no-resume", action="store_true", help="start over instead of resuming from the last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the DistillConfig, train, export, print where everything went."""
    import sys

    from oyster_agents.distill.config import DistillConfig
    from oyster_agents.distill.train import train

    overrides: dict[str, Any] = {field: getattr(args, field) for _, field, _ in _SETTINGS}
    overrides.update(method=args.method, resume=False if args.no_resume else None)
    config = DistillConfig.load(args.config, defaults={"base_model": "default"}, **overrides)
    if args.lora_r is not None:
        config = config.model_copy(update={"lora": config.lora.model_copy(update={"r": args.lora_r})})
    if config.base_model == "default":
        from oyster_agents.backends.default_model import default_model_path

        config = config.model_copy(update={"base_model": str(default_model_path())})
    result = train(config, stream=None if args.quiet else sys.stderr)
    first = f"{result.first_loss:.4g}" if result.first_loss is not None else "-"
    last = f"{result.last_loss:.4g}" if result.last_loss is not None else "-"
    print(f"{result.method}: {result.steps} steps, loss {first} -> {last}, {result.train_runtime_s:.1f}s")
    if result.adapter_dir:
        print(f"adapter: {result.adapter_dir}")
    for note in result.serving_notes:
        print(f"note: {note}")
    if result.merged_dir:
        parity = result.parity
        detail = f" (parity max |Δ logit| {parity.max_abs_diff:.2g} <= {parity.tolerance:.2g})" if parity else ""
        print(f"merged: {result.merged_dir}{detail}")
        print(f'try it: oyster chat --model {result.merged_dir} "your question"')
    return 0
