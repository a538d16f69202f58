"""LoRA SFT training throughput: tiny random model vs SmolLM2-135M-Instruct, without and with packing.

Every run trains the same synthetic chat rows (lengths drawn from a wide, seeded distribution, like
real traces) through ``oyster_agents.distill.train`` and counts real (non-padding) tokens per
second between the end of the first step and the end of the last, so start-up is left out.
Printed side by side, measured in this one run:

* tokens/s and s/step for each (model, packing) pair;
* packing on / off for each model (packing removes padding: more real tokens per step);
* SmolLM2 / tiny for each packing setting.

    python bench/bench_distill.py                          # both models, 8 steps each
    python bench/bench_distill.py --models tiny --steps 20
    OMP_NUM_THREADS=2 python bench/bench_distill.py --batch-size 4 --max-length 512
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oyster_agents.distill import DistillConfig, make_tiny_model, train  # noqa: E402
from oyster_agents.distill.tiny import tiny_corpus  # noqa: E402


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    """Chat rows shaped like distilled traces: a short question, then reasoning and an answer of varied length."""
    rng = random.Random(seed)
    lines = tiny_corpus()
    rows = []
    for _ in range(n):
        question = " ".join(rng.sample(lines, rng.randint(1, 2)))
        thinking = " ".join(rng.sample(lines, rng.randint(1, 4)))
        answer = " ".join(rng.sample(lines, rng.choice([1, 2, 3, 6, 10])))
        rows.append({"messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": f"<think>\n{thinking}\n</think>\n\n{answer}"},
        ]})
    return rows


def step_timer():
    """A trainer callback recording (time, real tokens seen) at the end of every step."""
    from transformers import TrainerCallback

    class _Timer(TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[tuple[float, int]] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.marks.append((time.perf_counter(), int(state.num_input_tokens_seen)))

    return _Timer()


def measure(model_dir: Path, data_dir: Path, out: Path, *, packing: bool, args: argparse.Namespace) -> dict:
    """Train ``args.steps`` steps; tokens/s and s/step after the first step."""
    config = DistillConfig(
        method="sft", base_model=str(model_dir), data_dir=str(data_dir), output_dir=str(out),
        max_steps=args.steps, batch_size=args.batch_size, max_length=args.max_length, packing=packing,
        learning_rate=1e-4, logging_steps=args.steps, save_steps=10_000, export="adapter", resume=False, device=args.device,
    )
    timer = step_timer()
    train(config, stream=None, callbacks=[timer])
    (t0, n0), (t1, n1) = timer.marks[0], timer.marks[-1]
    steps = len(timer.marks) - 1
    return {"tokens_per_s": (n1 - n0) / (t1 - t0), "s_per_step": (t1 - t0) / steps, "tokens_per_step": (n1 - n0) / steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,smollm", help="comma list of tiny, smollm")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per run (the first is not timed)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--rows", type=int, default=96)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-distill-"))
    data = work / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(args.rows)), encoding="utf-8")
    models: dict[str, Path] = {}
    for name in args.models.split(","):
        if name == "tiny":
            models[name] = make_tiny_model(work / "tiny")
        elif name == "smollm":
            from oyster_agents.backends.default_model import default_model_path

            models[name] = default_model_path()
        else:
            parser.error(f"unknown model {name!r}")

    results: dict[tuple[str, bool], dict] = {}
    for name, path in models.items():
        for packing in (False, True):
            results[name, packing] = measure(path, data, work / f"{name}-{packing}", packing=packing, args=args)
            r = results[name, packing]
            print(f"  {name:7s} packing={'on ' if packing else 'off'}  {r['tokens_per_s']:9.0f} tok/s  "
                  f"{r['s_per_step']:6.2f} s/step  {r['tokens_per_step']:6.0f} tok/step", file=sys.stderr, flush=True)

    print(f"\nLoRA SFT throughput, batch {args.batch_size}, max_length {args.max_length}, {args.steps - 1} timed steps")
    print(f"{'model':8s} {'packing':8s} {'tokens/s':>10s} {'s/step':>8s} {'tok/step':>9s} {'packing on/off':>15s}")
    for (name, packing), r in results.items():
        ratio = r["tokens_per_s"] / results[name, False]["tokens_per_s"]
        print(f"{name:8s} {'on' if packing else 'off':8s} {r['tokens_per_s']:10.0f} {r['s_per_step']:8.2f} "
              f"{r['tokens_per_step']:9.0f} {ratio:14.2f}x")
    if "tiny" in models and "smollm" in models:
        for packing in (False, True):
            ratio = results["smollm", packing]["tokens_per_s"] / results["tiny", packing]["tokens_per_s"]
            print(f"smollm / tiny tokens/s, packing {'on' if packing else 'off'}: {ratio:.3f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({f"{n}/{'packed' if p else 'padded'}": r for (n, p), r in results.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
