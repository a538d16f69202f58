"""Closing a grammar-constrained JSON object before its token budget runs out.

A small model that rambles inside a string runs into ``max_tokens`` with the object still open: the
fields it had not reached are lost, and the reply is repaired, re-asked or replaced by the node's
fallback. Instead, once a row has only as many tokens left as the schema's bare skeleton takes (every
required key with its shortest value), the tokens made only of ``"``, ``]`` and ``}`` win wherever
the grammar allows one, those that start with ``"`` first (inside a string, ``]`` and ``}`` are
plain characters; a quote ends it): the open string or list ends, the keys still missing (which
the grammar forces) get short values, and the object closes inside the budget. Fields written
before keep the model's own values, so the decisive fields a schema puts first survive.
"""

from __future__ import annotations

import json
from typing import Any

from oyster_agents.backends.fake import minimal_instance

_CLOSING_CHARS = frozenset('"]}')
_BONUS = 1e4  # above any logit; tokens the grammar masked stay at -inf


def closing_token_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Ids of the tokens that consist only of ``"``, ``]`` and ``}``: those starting with a quote, the others."""
    closing = [(token, i) for token, i in tokenizer.get_vocab().items() if token and set(token) <= _CLOSING_CHARS]
    return (sorted(i for token, i in closing if token[0] == '"'), sorted(i for token, i in closing if token[0] != '"'))


def skeleton_tokens(tokenizer: Any, schema: dict[str, Any]) -> int:
    """Tokens of the shortest object the schema accepts, plus the stop token: what closing can cost."""
    text = json.dumps(minimal_instance(schema))
    return len(tokenizer.encode(text, add_special_tokens=False)) + 1


def closing_starts(max_new_tokens: int, reserve: int) -> int:
    """The step from which a row closes: its budget less the reserve, and never in the first half."""
    return max(max_new_tokens - reserve, max_new_tokens // 2)


def make_closer(prompt_width: int, starts: list[int], closing_ids: tuple[list[int], list[int]]) -> Any:
    """A ``transformers`` logits processor that favours closing tokens in each row from its start step.

    Args:
        prompt_width: the padded prompt's length (generated tokens come after it).
        starts: per row, the generated-token step from which it closes.
        closing_ids: :func:`closing_token_ids` of the tokenizer.
    """
    import torch
    from transformers import LogitsProcessor

    tiers = [(torch.tensor(ids, dtype=torch.long), bonus) for ids, bonus in zip(closing_ids, (2 * _BONUS, _BONUS)) if ids]

    class CloseBeforeBudget(LogitsProcessor):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            step = input_ids.shape[1] - prompt_width
            rows = [i for i, start in enumerate(starts) if step >= start]
            if rows:
                index = torch.tensor(rows)[:, None]
                for ids, bonus in tiers:
                    scores[index, ids[None, :]] += bonus
            return scores

    return CloseBeforeBudget()
