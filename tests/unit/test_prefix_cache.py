"""The local backend's system-prompt KV cache: same greedy tokens as without it, mixed batches
padded correctly, one store per model, entries per prefix, bounded memory (tiny random model)."""

from __future__ import annotations

import pytest

from oyster_agents.backends._prefix_cache import Prefix, PrefixStore

pytest.importorskip("transformers")

SYS_RISK = "You are the risk assessor. Read the policy and classify the request with care. " * 4
SYS_ANSWER = "You write helpful answers that stay inside the safety guideline of the category. " * 3
CHATS = [
    [{"role": "system", "content": SYS_RISK}, {"role": "user", "content": "How do I treat a fever?"}],
    [{"role": "system", "content": SYS_RISK},
     {"role": "user", "content": "Tell me about alcohol rubs on a child, with a much longer question here"}],
    [{"role": "system", "content": SYS_ANSWER}, {"role": "user", "content": "Write a short answer."}],
    [{"role": "user", "content": "no system prompt at all"}],
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from oyster_agents.distill import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def generate(model, groups, max_new=16):
    """Run each group of chat indices as one padded batch; returns {index: [(text, cached_tokens), ...]}."""
    from oyster_agents.backends._batcher import Request
    from oyster_agents.backends.local import encode_chat_split

    model._ensure_loaded()
    out: dict[int, list[tuple[str, int]]] = {}
    for group in groups:
        requests = []
        for i in group:
            ids, prefix_len = encode_chat_split(model._tokenizer, CHATS[i])
            requests.append(Request(prompt_ids=ids, prefix_len=prefix_len, max_new_tokens=max_new,
                                     temperature=0.0, schema_key=None))
        for i, request, (text, _, _) in zip(group, requests, model._run_batch(requests)):
            out.setdefault(i, []).append((text, request.cached_tokens))
    return out


def test_cached_prefixes_give_the_uncached_tokens_alone_and_in_mixed_batches(tiny_dir):
    from oyster_agents.backends.local import LocalChatModel

    plain = LocalChatModel(model_path=str(tiny_dir), prefix_cache_mb=0)
    reference = {i: texts[0][0] for i, texts in generate(plain, [[0], [1], [2], [3]]).items()}
    assert plain.stats["cached_tokens"] == 0
    assert len(set(reference.values())) >= 2  # the prompts lead to different tokens

    cached = LocalChatModel(model_path=str(tiny_dir))
    # first a lone miss, then a batch mixing a hit, a miss, a different prefix length and no prefix
    runs = generate(cached, [[0], [0, 1, 2, 3], [1, 3], [2]])
    for i, texts in runs.items():
        assert [text for text, _ in texts] == [reference[i]] * len(texts), f"chat {i}"
    hits = {i: [c for _, c in texts] for i, texts in runs.items()}
    risk_len, answer_len = hits[0][1], hits[2][1]
    assert hits[0] == [0, risk_len] and hits[1] == [risk_len, risk_len] and hits[3] == [0, 0]
    assert hits[2] == [0, answer_len] and 16 < answer_len < risk_len
    stats = cached.stats
    assert stats["cached_tokens"] == sum(sum(c) for c in hits.values())
    # prefill saved: each prefix computed once, every later use served from the cache
    assert stats["prefill_tokens"] == stats["prompt_tokens"] - stats["cached_tokens"]
    assert len(cached._prefixes) == 2


def test_the_store_belongs_to_one_model_and_keys_each_prefix(tiny_dir):
    from oyster_agents.backends.local import LocalChatModel

    first, second = LocalChatModel(model_path=str(tiny_dir)), LocalChatModel(model_path=str(tiny_dir))
    generate(first, [[0, 2]])
    generate(second, [[1]])
    assert len(first._prefixes) == 2 and len(second._prefixes) == 1  # nothing shared across models
    assert second.stats["cached_tokens"] == 0


def test_store_is_bounded_and_evicts_the_least_recently_used():
    def entry(tag: int, nbytes: int) -> Prefix:
        return Prefix(ids=(tag,) * 20, layers=(), nbytes=nbytes)

    store = PrefixStore(capacity_bytes=100)
    assert store.put(entry(1, 40)) and store.put(entry(2, 40))
    assert store.get((1,) * 20) is not None  # 1 is now the most recently used
    assert store.put(entry(3, 40))
    assert (2,) * 20 not in store and (1,) * 20 in store and (3,) * 20 in store
    assert store.nbytes == 80 <= store.capacity_bytes
    assert not store.put(entry(4, 101)) and len(store) == 2  # too big alone: not kept, nothing evicted
    assert not PrefixStore(0).put(entry(5, 1))  # prefix_cache_mb=0: off


def test_a_prefix_too_big_for_the_budget_runs_uncached(tiny_dir):
    from oyster_agents.backends.local import LocalChatModel

    model = LocalChatModel(model_path=str(tiny_dir), prefix_cache_mb=0.001)  # about 1 KB
    runs = generate(model, [[0], [0]])
    assert [c for _, c in runs[0]] == [0, 0] and len(model._prefixes) == 0
