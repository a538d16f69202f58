"""Local decoding variants on the embedded model, measured in CPU seconds (robust on a shared machine).

Each variant loads SmolLM2-135M in a fresh process and generates a fixed number of tokens greedily for
a batch of chat prompts (the role prompts' shape: a long system message, a short user message). It
prints process CPU seconds, wall seconds and CPU milliseconds per generated token, and whether the
tokens equal the baseline's.

It also prints each variant's perplexity on a fixed text (the first 1,024 tokens of the README), so a
faster variant that loses quality shows it: greedy tokens that differ say little on their own.

Variants: ``threads1`` / ``threads2`` (torch threads), ``eager`` (attention without SDPA),
``int8`` (the backend's ``quantize: int8``: ``torch.ao.quantization.quantize_dynamic``, int8 weights
and activations quantized per tensor at run time, on every linear layer but the few whose activations
it would damage, see ``backends/_int8.py``), ``int8-every-layer`` (the same on every linear layer),
``int8-weight-only`` (torchao's ``Int8WeightOnlyConfig``; needs
``pip install torchao``, not a dependency), ``static`` (static KV cache, no compile).
Run: ``python bench/bench_local_decoding.py [--variants threads1,threads2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])

_CHILD = r"""
import json, resource, sys, time
variant, new_tokens, batch, path_to_repo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
import torch
torch.set_num_threads(2 if variant == "threads2" else 1)
from transformers import AutoModelForCausalLM, AutoTokenizer
from oyster_agents.backends.default_model import default_model_path
from oyster_agents.backends.local import encode_chat
from oyster_agents.prompts import render
path = str(default_model_path())
tok = AutoTokenizer.from_pretrained(path)
kwargs = {"attn_implementation": "eager"} if variant == "eager" else {}
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kwargs).eval()
if variant == "int8":  # what ``quantize: int8`` does
    from oyster_agents.backends._int8 import quantize_int8
    model = quantize_int8(model)
if variant == "int8-every-layer":
    model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
if variant == "int8-weight-only":
    from torchao.quantization import Int8WeightOnlyConfig, quantize_
    quantize_(model, Int8WeightOnlyConfig())
system = render("safety_critic", "system", schema="{...}")
users = ["Is it safe to rub a feverish toddler with alcohol?", "How do I store cleaning products safely?",
         "What should I do about a persistent cough?", "Can I mix bleach and vinegar?"][:batch]
rows = [encode_chat(tok, [{"role": "system", "content": system}, {"role": "user", "content": u}]) for u in users]
width = max(map(len, rows))
ids = torch.tensor([[tok.pad_token_id or 0] * (width - len(r)) + r for r in rows])
mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
gen = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False,
       "pad_token_id": tok.pad_token_id or 0}
if variant == "static":
    gen["cache_implementation"] = "static"
r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
with torch.inference_mode():
    out = model.generate(input_ids=ids, attention_mask=mask, **gen)
r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
readme = (__import__("pathlib").Path(path_to_repo) / "README.md").read_text()
text = tok(readme, return_tensors="pt").input_ids[:, :1024]
with torch.inference_mode():
    perplexity = torch.exp(model(text, labels=text).loss).item()
print(json.dumps({"variant": variant, "cpu_s": cpu, "wall_s": w1 - w0, "prompt": width * len(rows),
                  "tokens": out[:, width:].tolist(), "perplexity": perplexity}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="threads1,threads2,eager,int8,int8-every-layer,static")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    base = None
    print("| variant | CPU s | wall s | CPU ms / generated token | same tokens as the first | perplexity (README) |")
    print("|---|---|---|---|---|---|")
    for variant in args.variants.split(","):
        proc = subprocess.run([sys.executable, "-c", _CHILD, variant, str(args.new_tokens), str(args.batch), REPO],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"| {variant} | failed: {proc.stderr.strip().splitlines()[-1][:120]} | | | | |", flush=True)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        base = base or r["tokens"]
        per_token = 1000 * r["cpu_s"] / (args.new_tokens * args.batch)
        same = "yes" if r["tokens"] == base else "no"
        print(f"| {variant} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | {per_token:.0f} | {same} | "
              f"{r['perplexity']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
