"""LoRA SFT of a ~0.5B-parameter Qwen2-shaped model with random weights: tokens/s and peak memory.

Nothing is downloaded: the model is a ``Qwen2Config`` initialised at random and saved locally, the
tokenizer is SmolLM2's (from the embedded default model) or, with ``--tiny``, the trained BPE of
``make_tiny_model``. Training goes through ``oyster_agents.distill.train`` (TRL SFT + PEFT LoRA), in
bf16 with gradient checkpointing on a GPU, so the numbers are those of the real command.

    python bench/gpu_lora_sft.py                                  # GPU: ~0.5B, bf16, 20 steps
    python bench/gpu_lora_sft.py --batch-size 16 --max-length 2048 --packing
    python bench/gpu_lora_sft.py --tiny --device cpu --steps 3    # CPU smoke run of the same path

Prints one line per setting (padded and packed by default): parameters, tokens/s (real tokens,
after the first step), s/step, peak GPU memory (``torch.cuda.max_memory_allocated``) or peak RSS on CPU,
and packed / padded ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_distill import synthetic_rows  # noqa: E402

from oyster_agents.distill import DistillConfig, make_tiny_model, train  # noqa: E402

# ~0.54B parameters with SmolLM2's 49k vocabulary (Qwen2.5-0.5B's shape, a little wider).
FULL = dict(hidden_size=1024, intermediate_size=4864, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=4)
TINY = dict(hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)


def build_model(folder: Path, *, tiny: bool, dtype: str) -> int:
    """Save a random Qwen2 model and a tokenizer in ``folder``; returns the parameter count."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    if tiny:
        tok_dir = make_tiny_model(folder / "_tokenizer")
    else:
        from oyster_agents.backends.default_model import default_model_path

        tok_dir = default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
    shape = TINY if tiny else FULL
    config = Qwen2Config(
        vocab_size=len(tokenizer), max_position_embeddings=4096, tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        bos_token_id=None, dtype=dtype, **shape,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(getattr(torch, dtype))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def run(model_dir: Path, data_dir: Path, out: Path, *, packing: bool, args: argparse.Namespace) -> dict:
    import torch
    from transformers import TrainerCallback

    marks: list[tuple[float, int]] = []

    class _Timer(TrainerCallback):
        def on_step_end(self, targs, state, control, **kwargs):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            marks.append((time.perf_counter(), int(state.num_input_tokens_seen)))

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    config = DistillConfig(
        method="sft", base_model=str(model_dir), data_dir=str(data_dir), output_dir=str(out), device=args.device,
        max_steps=args.steps, batch_size=args.batch_size, max_length=args.max_length, packing=packing,
        learning_rate=1e-4, logging_steps=max(1, args.steps // 4), save_steps=100_000, export="adapter", resume=False,
        lora={"r": 16, "alpha": 32, "dropout": 0.0},
    )
    train(config, stream=sys.stderr if args.verbose else None, callbacks=[_Timer()])
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    steps = len(marks) - 1
    if torch.cuda.is_available() and args.device != "cpu":
        peak = torch.cuda.max_memory_allocated() / 2**30
        where = "GPU"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        where = "RSS"
    return {"tokens_per_s": (n1 - n0) / (t1 - t0), "s_per_step": (t1 - t0) / steps, "peak_gib": peak, "peak_of": where}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a tiny Qwen2 and the trained BPE tokenizer (smoke test)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per setting (the first is not timed)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--packing", choices=["both", "on", "off"], default="both")
    parser.add_argument("--verbose", action="store_true", help="show training progress lines")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()

    import torch

    gpu = args.device != "cpu" and torch.cuda.is_available()
    if args.device == "cuda" and not gpu:
        parser.error("--device cuda but torch sees no GPU; use --tiny --device cpu for a smoke run")
    dtype = "bfloat16" if gpu and torch.cuda.is_bf16_supported() else "float32"
    work = Path(tempfile.mkdtemp(prefix="gpu-lora-sft-"))
    params = build_model(work / "model", tiny=args.tiny, dtype=dtype)
    data = work / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(args.rows)), encoding="utf-8")
    device_name = torch.cuda.get_device_name() if gpu else "cpu"
    print(f"model: Qwen2 {params / 1e6:.1f}M parameters, {dtype}, on {device_name}; batch {args.batch_size}, "
          f"max_length {args.max_length}, LoRA r=16 all-linear, {args.steps - 1} timed steps")

    settings = {"both": (False, True), "on": (True,), "off": (False,)}[args.packing]
    results = {}
    for packing in settings:
        r = run(work / "model", data, work / f"run-{packing}", packing=packing, args=args)
        results["packed" if packing else "padded"] = r
        print(f"packing {'on ' if packing else 'off'}: {r['tokens_per_s']:10.0f} tokens/s  {r['s_per_step']:7.3f} s/step  "
              f"peak {r['peak_of']} {r['peak_gib']:.2f} GiB", flush=True)
    if len(results) == 2:
        print(f"packed / padded tokens/s: {results['packed']['tokens_per_s'] / results['padded']['tokens_per_s']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"params": params, "dtype": dtype, "device": device_name, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
