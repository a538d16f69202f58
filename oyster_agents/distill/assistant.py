"""The assistant turn of a training row: reasoning, then the answer, rid of the policy's rule text.

Each assistant turn is ``<think>reasoning</think>`` then the answer. The reasoning comes from the run
itself, the iterate's chain (need, risk, boundary, strategies) and the responder's own reasoning: in
plain prose (``think``, the paper's style), as the labelled chain (``chain``), or left out (``none``).
The prose is written by a model at export time when a writer is given (``reasoning_from="model"``),
else filled from a template. A leak check then removes sentences that reproduce the policy's rule
text or the adapted guideline; a trained answer that reproduces them drops the row.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from oyster_agents.distill._text import join_phrases, sentence
from oyster_agents.distill.leaks import LeakCheck
from oyster_agents.distill.row_options import ReasoningFormat, RowOptions, RowStats
from oyster_agents.schemas.chain import ReasoningChain
from oyster_agents.schemas.distill import ReasoningSource
from oyster_agents.schemas.trace import Iterate, RunTrace

# Writes one answer's reasoning from the run's material; ``None`` when the model gave nothing usable.
ReasoningWriter = Callable[[ReasoningSource], "str | None"]
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_TAG = re.compile(r"</?think>", re.IGNORECASE)


def clean_answer(text: str) -> str:
    """The answer without any reasoning block or stray think tags."""
    return _THINK_TAG.sub("", _THINK_BLOCK.sub("", text)).strip()


def reasoning_text(iterate: Iterate, style: ReasoningFormat, *, seed_text: str = "") -> str:
    """The reasoning shown before an answer, written from the iterate's chain and reasoning.

    Args:
        iterate: the Lingo-BP iterate.
        style: ``think`` (prose), ``chain`` (labelled chain) or ``none`` (returns "").
        seed_text: picks one of the prose phrasings stably (usually the query), so wording varies across rows.
    """
    if style == "none":
        return ""
    chain = iterate.chain
    note = sentence(clean_answer(iterate.reasoning)) if iterate.reasoning.strip() else ""
    if style == "chain":
        return _render("chain.j2", chain=chain, note=note)
    return _render(
        "think.j2",
        need=sentence(chain.user_need) or "They want a clear, useful answer.",
        risk=sentence(chain.risk_intent) if _has_risk(chain) else "",
        boundary=sentence(chain.guideline),
        helpful=join_phrases(chain.usefulness_strategies) or "answer the question clearly",
        safe=join_phrases(chain.safety_strategies),
        note=note,
        variant=zlib.crc32(seed_text.encode("utf-8")) % 3,
    )


def assistant_content(iterate: Iterate, style: ReasoningFormat, *, seed_text: str = "", thinking: str | None = None) -> str:
    """``<think>\\nreasoning\\n</think>\\n\\nanswer`` (or just the answer for ``none``).

    ``thinking`` replaces the template reasoning when given (model-written, or leak-scrubbed).
    """
    answer = clean_answer(iterate.answer)
    if thinking is None:
        thinking = reasoning_text(iterate, style, seed_text=seed_text)
    if not thinking or style == "none":
        return answer
    return f"<think>\n{thinking}\n</think>\n\n{answer}"


def reasoning_source(trace: RunTrace, iterate: Iterate) -> ReasoningSource:
    """What the reasoning writer reads for one answer: the conversation, the chain, the responder's notes."""
    chain = iterate.chain
    return ReasoningSource(
        query=trace.query,
        history=trace.history,
        user_need=chain.user_need,
        risk_intent=chain.risk_intent if _has_risk(chain) else "",
        guideline=chain.guideline,
        usefulness_strategies=chain.usefulness_strategies,
        safety_strategies=chain.safety_strategies,
        responder_reasoning=clean_answer(iterate.reasoning),
        answer=clean_answer(iterate.answer),
    )


def rule_texts(trace: RunTrace, policy_rules: Mapping[str, list[str]] | None = None) -> list[str]:
    """The texts a target must not reproduce: the trace's policy rule, the adapted guidelines of its
    assessment and iterates, and the caller's rules for its category (``""`` holds rules for every category)."""
    texts = [trace.policy_rule, trace.assessment.adapted_guideline, *(it.chain.guideline for it in trace.iterates)]
    if policy_rules:
        texts += policy_rules.get("", []) + policy_rules.get(trace.assessment.category, [])
    return [t for t in texts if t and t.strip()]


class TargetBuilder:
    """Assistant turns for one export: reasoning (written or templated), then the leak check.

    Args:
        options: row options (reasoning format and source, leak settings).
        stats: counts of written, fallen-back and scrubbed reasoning and dropped rows.
        writer: the model-backed reasoning writer (required for ``reasoning_from="model"``).
        policy_rules: rule texts by category id (``""``: for every category) for the leak check.
    """

    def __init__(
        self,
        options: RowOptions,
        stats: RowStats,
        writer: ReasoningWriter | None = None,
        policy_rules: Mapping[str, list[str]] | None = None,
    ) -> None:
        if options.reasoning_from == "model" and options.reasoning == "think" and writer is None:
            raise ValueError("reasoning_from='model' needs a reasoning writer; pass writer=... or use 'template'")
        self.options = options
        self.stats = stats
        self.writer = writer if options.reasoning_from == "model" else None
        self.policy_rules = policy_rules
        self._cache: dict[tuple[int, int], tuple[str, bool]] = {}
        self.examples: list[dict[str, Any]] = []  # the first few reasoning texts the leak check rewrote

    def content(self, trace: RunTrace, index: int, *, trained: bool = True) -> str | None:
        """The assistant turn for ``trace.iterates[index]``.

        Returns ``None`` when the answer itself reproduces rule text and ``trained`` (an SFT target or
        a chosen answer); a rejected answer that leaks stays, as an example of what not to say.
        """
        key = (id(trace), index)
        if key not in self._cache:
            self._cache[key] = self._build(trace, index)
        text, answer_leaks = self._cache[key]
        return None if answer_leaks and trained else text

    def _build(self, trace: RunTrace, index: int) -> tuple[str, bool]:
        iterate = trace.iterates[index]
        style = self.options.reasoning
        thinking = None
        if style == "think" and self.writer is not None:
            thinking = self.writer(reasoning_source(trace, iterate)) or None
            if thinking:
                self.stats.reasoning_written += 1
            else:
                self.stats.reasoning_fallback += 1
        if thinking is None:
            thinking = reasoning_text(iterate, style, seed_text=trace.query)
        if not self.options.leak_check:
            return assistant_content(iterate, style, thinking=thinking), False
        check = LeakCheck(rule_texts(trace, self.policy_rules), self.options.leaks)
        scrubbed, removed = check.scrub(thinking)
        if removed:
            self.stats.leak_rewritten += 1
            self.stats.leak_sentences += len(removed)
            if len(self.examples) < 3:
                self.examples.append({"query": trace.query, "before": thinking, "after": scrubbed, "removed": removed})
        answer_leaks = bool(check.leaks(clean_answer(iterate.answer)))
        return assistant_content(iterate, style, thinking=scrubbed), answer_leaks


def _has_risk(chain: ReasoningChain) -> bool:
    text = chain.risk_intent.strip().lower().rstrip(".")
    return bool(text) and text not in {"none", "no risk", "n/a", "nothing", "no"}


@lru_cache(maxsize=None)
def _template(name: str) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    source = resources.files("oyster_agents.distill.templates").joinpath(name).read_text(encoding="utf-8")
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    return env.from_string(source)


def _render(name: str, **values: Any) -> str:
    return _template(name).render(**values).strip()
