"""Dynamic int8 linear layers for CPU decoding, leaving in float32 the layers that int8 would damage.

``torch.ao.quantization.quantize_dynamic`` gives each activation tensor one int8 scale at run time.
A few layers see inputs with a handful of very large values (outliers); one scale for the whole
tensor then squeezes every other value into a few int8 steps. On SmolLM2-135M, quantizing every
linear layer triples the perplexity (102.5 → 305); keeping the layers below in float32 holds it at
111 for 1.6× less CPU per generated token (docs/performance.md, ``bench/bench_local_decoding.py``).
"""

from __future__ import annotations

from typing import Any

# The MLP's output projection, by the names of the common decoder families (Llama, Mistral, Qwen,
# SmolLM, Gemma: down_proj; OPT, Phi: fc2; GPT-NeoX: dense_4h_to_h; Mixtral experts: w2).
DOWN_PROJECTIONS = ("down_proj", "fc2", "dense_4h_to_h", "w2")


def _decoder_blocks(model: Any) -> tuple[str, int] | None:
    """The name and length of the model's longest ``ModuleList`` (its stack of decoder blocks)."""
    import torch

    lists = [(name, len(module)) for name, module in model.named_modules() if isinstance(module, torch.nn.ModuleList)]
    return max(lists, key=lambda item: item[1], default=None)


def int8_layer_names(model: Any) -> set[str]:
    """The linear layers to quantize: all but the output head, the MLP down projections, and the first
    and last decoder blocks (their activations carry the outliers)."""
    import torch

    head = model.get_output_embeddings()
    kept_blocks: tuple[str, ...] = ()
    blocks = _decoder_blocks(model)
    if blocks and blocks[1] > 2:
        kept_blocks = (f"{blocks[0]}.0.", f"{blocks[0]}.{blocks[1] - 1}.")
    names = set()
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or module is head:
            continue
        if name.rsplit(".", 1)[-1] in DOWN_PROJECTIONS or name.startswith(kept_blocks):
            continue
        names.add(name)
    return names


def quantize_int8(model: Any) -> Any:
    """``model`` with dynamically quantized int8 linear layers where int8 keeps its quality (CPU, float32)."""
    import torch

    return torch.ao.quantization.quantize_dynamic(model, int8_layer_names(model), dtype=torch.qint8)
