"""The system-prompt KV cache on the real SmolLM2-135M: the same greedy tokens as without it."""

from __future__ import annotations

import pytest

from tests.unit.test_prefix_cache import generate

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_smollm_gives_the_same_tokens_with_and_without_the_prefix_cache(smollm_dir):
    from oyster_agents.backends.local import LocalChatModel

    plain = LocalChatModel(model_path=str(smollm_dir), prefix_cache_mb=0)
    reference = {i: texts[0][0] for i, texts in generate(plain, [[0], [1], [2], [3]]).items()}
    assert len(set(reference.values())) == 4
    cached = LocalChatModel(model_path=str(smollm_dir))
    runs = generate(cached, [[0], [0, 1, 2, 3], [1, 3]])
    for i, texts in runs.items():
        assert [text for text, _ in texts] == [reference[i]] * len(texts), f"chat {i}"
    stats = cached.stats
    assert stats["cached_tokens"] == sum(c for texts in runs.values() for _, c in texts) > 0
    assert stats["prefill_tokens"] == stats["prompt_tokens"] - stats["cached_tokens"]
