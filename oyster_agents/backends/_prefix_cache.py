"""Prompt-prefix KV cache for the local backend: each role's static system prompt is prefilled once.

A prompt is split at the end of its system message (:func:`local.encode_chat` reports where). The
prefix's keys and values are computed once and kept in a bounded LRU (bytes), keyed by the prefix's
token ids, so equal system prompts share an entry and a changed one gets its own. One store belongs
to one loaded model.

A batch whose rows have different (or no) cached prefixes is laid out in two left-padded regions::

    [pad… prefix_i | pad… suffix_i]     attention 0 on every pad

The prefix region's keys/values come from the cache (zeros under the pads), so ``generate`` only
prefills the suffix region. Position ids follow the attention mask's running count, so every real
token keeps the position it has in the unpadded prompt and greedy decoding matches the uncached run.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MIN_PREFIX_TOKENS = 16  # shorter prefixes are not worth an entry


@dataclass(frozen=True)
class Prefix:
    """The keys and values of one prefix: per layer ``(key, value)`` of shape [1, heads, length, dim]."""

    ids: tuple[int, ...]
    layers: tuple[tuple[Any, Any], ...]
    nbytes: int


class PrefixStore:
    """LRU of prefixes under a byte budget; ``capacity_bytes=0`` turns caching off."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._entries: OrderedDict[tuple[int, ...], Prefix] = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ids: tuple[int, ...]) -> bool:
        return ids in self._entries

    def get(self, ids: tuple[int, ...]) -> Prefix | None:
        entry = self._entries.get(ids)
        if entry is not None:
            self._entries.move_to_end(ids)
        return entry

    def put(self, entry: Prefix) -> bool:
        """Keep ``entry`` (evicting the least recently used); False when it alone exceeds the budget."""
        if entry.nbytes > self.capacity_bytes:
            return False
        old = self._entries.pop(entry.ids, None)
        if old is not None:
            self.nbytes -= old.nbytes
        self._entries[entry.ids] = entry
        self.nbytes += entry.nbytes
        while self.nbytes > self.capacity_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.nbytes -= evicted.nbytes
        return True


def compute_prefix(model: Any, ids: tuple[int, ...]) -> Prefix:
    """Prefill ``ids`` alone and keep its keys and values."""
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([list(ids)], device=model.device), use_cache=True)
    cache = out.cache if "cache" in out else out.past_key_values
    layers = tuple((layer.keys.clone(), layer.values.clone()) for layer in cache.layers)
    nbytes = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in layers)
    return Prefix(ids=ids, layers=layers, nbytes=nbytes)


def batched_cache(model: Any, prefixes: list[Prefix | None]) -> tuple[Any, int]:
    """A ``DynamicCache`` holding each row's prefix left-padded with zeros to the longest; its length."""
    import torch
    from transformers import DynamicCache

    width = max((len(p.ids) for p in prefixes if p is not None), default=0)
    template = next(p for p in prefixes if p is not None)
    cache = DynamicCache(config=model.config)
    for layer, (k0, v0) in enumerate(template.layers):
        keys, values = [], []
        for prefix in prefixes:
            if prefix is None:
                k = v = None
                size = 0
            else:
                k, v = prefix.layers[layer]
                size = k.shape[2]
            pad = width - size
            shape = (1, k0.shape[1], pad, k0.shape[3])
            zeros_k = k0.new_zeros(shape)
            zeros_v = v0.new_zeros((1, v0.shape[1], pad, v0.shape[3]))
            keys.append(zeros_k if k is None else torch.cat([zeros_k, k], dim=2))
            values.append(zeros_v if v is None else torch.cat([zeros_v, v], dim=2))
        cache.update(torch.cat(keys, dim=0), torch.cat(values, dim=0), layer)
    return cache, width
