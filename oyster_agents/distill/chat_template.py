"""Chat templates fit for training: keep the base's own when it marks assistant turns, else patch it.

Assistant-only loss needs ``{% generation %}`` markers in the template. TRL can patch a few dozen
stock templates; for any other template on a ChatML tokenizer this module writes a ChatML template
with markers that keeps the base's default system prompt, so the student is trained and served in
the format the base already knows.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from oyster_agents.errors import ConfigError

CHATML_TOKENS = ("<|im_start|>", "<|im_end|>")
_PROBE = "\x00probe\x00"


def chatml_training_template(default_system: str = "") -> str:
    """The ChatML template with generation markers, optionally injecting a default system prompt.

    Args:
        default_system: text of the system turn added when a conversation has none ("" for none).
    """
    body = resources.files("oyster_agents.distill.templates").joinpath("chatml.j2").read_text(encoding="utf-8")
    return "{%- set default_system = " + json.dumps(default_system) + " %}\n" + body


def has_generation_markers(template: str | None) -> bool:
    """Whether a chat template marks assistant tokens with ``{% generation %}`` blocks."""
    if not template:
        return False
    return re.search(r"\{%-?\s*generation\s*-?%\}", template) is not None


def uses_chatml(tokenizer: Any) -> bool:
    """Whether the tokenizer knows both ChatML control tokens as single tokens."""
    vocab = tokenizer.get_vocab()
    return all(token in vocab for token in CHATML_TOKENS)


def default_system_prompt(tokenizer: Any) -> str:
    """The system text the tokenizer's ChatML template adds when a conversation has no system turn."""
    template = _template_text(tokenizer)
    if not template:
        return ""
    try:
        text = tokenizer.apply_chat_template([{"role": "user", "content": _PROBE}], tokenize=False)
    except Exception:  # a template that cannot render a lone user turn has no default to keep
        return ""
    match = re.search(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", text.split(_PROBE, 1)[0], re.S)
    return match.group(1) if match else ""


def training_template(tokenizer: Any) -> tuple[str, str]:
    """A chat template with generation markers for ``tokenizer``, and where it came from.

    Returns:
        ``(template, source)`` with source ``"base"`` (already marked), ``"trl"`` (TRL's patched
        version of a known template) or ``"chatml"`` (written here).

    Raises:
        ConfigError: the template has no markers, TRL cannot patch it and the tokenizer has no ChatML tokens.
    """
    template = _template_text(tokenizer)
    if has_generation_markers(template):
        return template, "base"
    if template:
        try:
            from trl.chat_template_utils import get_training_chat_template

            patched = get_training_chat_template(tokenizer)
        except (ValueError, TypeError, ImportError):
            patched = None
        if patched and has_generation_markers(patched):
            return patched, "trl"
    if uses_chatml(tokenizer):
        return chatml_training_template(default_system_prompt(tokenizer)), "chatml"
    raise ConfigError(
        "assistant-only loss needs a chat template with {% generation %} markers; this base model's template "
        "has none, TRL cannot patch it and the tokenizer has no ChatML tokens. Add the markers around the "
        "assistant content (end-of-turn token inside) in the base's tokenizer_config/chat_template.jinja, "
        "or train without assistant-only loss (set `assistant_only_loss: false` in the distill config)."
    )


def _template_text(tokenizer: Any) -> str | None:
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default")
    return template
