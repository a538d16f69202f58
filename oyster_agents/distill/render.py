"""Render conversational rows to text with a tokenizer's chat template (``prompt``/``completion``,
``prompt``/``chosen``/``rejected``), for trainers that take text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oyster_agents.distill.split import DatasetKind
from oyster_agents.errors import ConfigError


def render_rows(
    rows: list[dict[str, Any]], kind: DatasetKind, tokenizer_dir: str, chat_template: str | None = None
) -> list[dict[str, Any]]:
    """Render conversational rows to text with a tokenizer's chat template (prompt ends with the generation prompt)."""
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load a tokenizer from {tokenizer_dir}: {exc}") from exc
    if chat_template:
        tokenizer.chat_template = Path(chat_template).read_text(encoding="utf-8")
    if not tokenizer.chat_template:
        raise ConfigError(f"the tokenizer in {tokenizer_dir} has no chat template; pass --chat-template FILE")
    out = []
    for row in rows:
        if kind == "sft":
            prompt = _render_prompt(tokenizer, row["messages"][:-1])
            completion = _render_completion(tokenizer, row["messages"][:-1], row["messages"][-1:], prompt)
            out.append({"prompt": prompt, "completion": completion, "lineage": row["lineage"]})
        else:
            prompt = _render_prompt(tokenizer, row["prompt"])
            out.append({
                "prompt": prompt,
                "chosen": _render_completion(tokenizer, row["prompt"], row["chosen"], prompt),
                "rejected": _render_completion(tokenizer, row["prompt"], row["rejected"], prompt),
                "rejected_reason": row.get("rejected_reason", ""),
                "lineage": row["lineage"],
            })
    return out


def _render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _render_completion(tokenizer: Any, prompt_msgs: list[dict[str, str]], answer: list[dict[str, str]], prompt: str) -> str:
    full = tokenizer.apply_chat_template(prompt_msgs + answer, tokenize=False)
    if not full.startswith(prompt):
        raise ConfigError(
            "the chat template renders the prompt differently once the answer is added, so rows cannot be split "
            "into prompt and completion; pass a prefix-preserving template with --chat-template"
        )
    completion = full[len(prompt):]
    eos = tokenizer.eos_token or ""
    # TRL appends the end-of-sequence token when a completion does not end with it; keep it last to avoid two.
    if eos and completion.rstrip().endswith(eos):
        completion = completion.rstrip()
    return completion
