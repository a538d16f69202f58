"""Local decoding variants on the embedded model, measured in CPU seconds (robust on a shared machine).

Each variant loads SmolLM2-135M in a fresh process and generates a fixed number of tokens greedily for
a batch of chat prompts (the role prompts' shape: a long system message, a short user message). It
prints process CPU seconds, wall seconds and CPU milliseconds per generated token, and whether the
tokens equal the baseline's.

Variants: ``threads1`` / ``threads2`` (torch threads), ``eager`` (attention without SDPA),
``int8`` (``torch.ao.quantization.quantize_dynamic`` on the linear layers), ``static`` (static KV
cache, no compile). Run: ``python bench/bench_local_decoding.py [--variants threads1,threads2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_CHILD = r"""
import json, resource, sys, time
variant, new_tokens, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
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
if variant == "int8":
    model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
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
print(json.dumps({"variant": variant, "cpu_s": cpu, "wall_s": w1 - w0, "prompt": width * len(rows),
                  "tokens": out[:, width:].tolist()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="threads1,threads2,eager,int8,static")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    base = None
    print("| variant | CPU s | wall s | CPU ms / generated token | same tokens as threads1 |")
    print("|---|---|---|---|---|")
    for variant in args.variants.split(","):
        proc = subprocess.run([sys.executable, "-c", _CHILD, variant, str(args.new_tokens), str(args.batch)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"| {variant} | failed: {proc.stderr.strip().splitlines()[-1][:120]} | | | |", flush=True)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        base = base or r["tokens"]
        per_token = 1000 * r["cpu_s"] / (args.new_tokens * args.batch)
        same = "yes" if r["tokens"] == base else "no"
        print(f"| {variant} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | {per_token:.0f} | {same} |", flush=True)


if __name__ == "__main__":
    main()
