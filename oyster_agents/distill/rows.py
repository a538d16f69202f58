"""Traces → training rows: chat ``messages`` for SFT, ``prompt``/``chosen``/``rejected`` for preferences.

Each assistant turn is ``<think>reasoning</think>`` then the answer, where the reasoning is written
from the iterate's chain (need, risk, boundary, strategies) and its own short reasoning: in plain
prose (``think``, the paper's style), as the labelled chain (``chain``), or left out (``none``).
Every row carries a ``lineage`` record: trace id, source line, iterate(s) and scores.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oyster_agents.distill.traces import LoadedTrace
from oyster_agents.schemas.chain import ReasoningChain
from oyster_agents.schemas.critique import SafetyVerdict
from oyster_agents.schemas.trace import Iterate, RunTrace

ReasoningFormat = Literal["think", "chain", "none"]
RejectedKind = Literal["unsafe", "refusal", "initial", "worse"]
# Roles whose fallback values make an iterate's answer or scores canned rather than judged.
_JUDGED_ROLES = frozenset({"responder", "safety_critic", "satisfaction_critic"})
_KIND_ORDER: dict[str, int] = {"unsafe": 0, "refusal": 1, "initial": 2, "worse": 3}
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_TAG = re.compile(r"</?think>", re.IGNORECASE)
_EPS = 1e-9


class RowOptions(BaseModel):
    """How traces become rows.

    Attributes:
        reasoning: ``think`` (prose reasoning), ``chain`` (the labelled chain) or ``none``.
        min_safety: lowest safety score of a training answer (SFT rows, chosen answers).
        min_constructive: lowest constructive score of a training answer; ``None`` for no limit.
        system_prompt: a system turn put before every prompt; ``None`` for none.
        include_history: keep earlier turns of multi-turn traces in the prompt.
        allow_fallbacks: also use traces whose answer or judgments came from a documented fallback.
        max_pairs: most preference pairs per trace.
        min_margin: least constructive-score gap between chosen and rejected when both are equally safe.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    reasoning: ReasoningFormat = "think"
    min_safety: float = Field(default=1.0, ge=0.0, le=1.0)
    min_constructive: float | None = None
    system_prompt: str | None = None
    include_history: bool = True
    allow_fallbacks: bool = False
    max_pairs: int = Field(default=4, ge=1)
    min_margin: float = Field(default=0.0, ge=0.0)


class RowStats(BaseModel):
    """Why traces produced no row."""

    traces: int = 0
    used: int = 0
    below_threshold: int = 0
    fallback: int = 0
    empty_answer: int = 0
    no_pair: int = 0


# ---- assistant text ----------------------------------------------------------------------------------
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
    note = _sentence(clean_answer(iterate.reasoning)) if iterate.reasoning.strip() else ""
    if style == "chain":
        return _render("distill_chain.j2", chain=chain, note=note)
    return _render(
        "distill_think.j2",
        need=_sentence(chain.user_need) or "They want a clear, useful answer.",
        risk=_sentence(chain.risk_intent) if _has_risk(chain) else "",
        boundary=_sentence(chain.guideline),
        helpful=_join_phrases(chain.usefulness_strategies) or "answer the question clearly",
        safe=_join_phrases(chain.safety_strategies),
        note=note,
        variant=zlib.crc32(seed_text.encode("utf-8")) % 3,
    )


def assistant_content(iterate: Iterate, style: ReasoningFormat, *, seed_text: str = "") -> str:
    """``<think>\\nreasoning\\n</think>\\n\\nanswer`` (or just the answer for ``none``)."""
    answer = clean_answer(iterate.answer)
    thinking = reasoning_text(iterate, style, seed_text=seed_text)
    if not thinking:
        return answer
    return f"<think>\n{thinking}\n</think>\n\n{answer}"


# ---- classification ----------------------------------------------------------------------------------
def is_flat_refusal(iterate: Iterate) -> bool:
    """Judged as refusing without help: unwilling to help and the task not done."""
    scores = iterate.satisfaction.scores
    return scores.willingness_to_help <= -1 and scores.task_completion <= -1


def rejected_kind(iterate: Iterate) -> RejectedKind:
    """Which edge of the boundary a worse answer stands for."""
    if iterate.safety.verdict == SafetyVerdict.UNSAFE:
        return "unsafe"
    if is_flat_refusal(iterate):
        return "refusal"
    return "initial" if iterate.step == 0 else "worse"


def has_fallback(trace: RunTrace) -> bool:
    """Whether an answer or a judgment of this trace is a documented fallback value."""
    return any(f.kind == "fallback_value" and f.role in _JUDGED_ROLES for f in trace.fallbacks)


def passes(iterate: Iterate, options: RowOptions) -> bool:
    """Whether an iterate is good enough to train towards."""
    if iterate.safety_score < options.min_safety - _EPS:
        return False
    return options.min_constructive is None or iterate.constructive_score >= options.min_constructive - _EPS


# ---- rows --------------------------------------------------------------------------------------------
def prompt_messages(trace: RunTrace, options: RowOptions) -> list[dict[str, str]]:
    """System turn (optional), earlier turns (optional) and the user's query."""
    messages: list[dict[str, str]] = []
    if options.system_prompt:
        messages.append({"role": "system", "content": options.system_prompt})
    if options.include_history:
        for turn in trace.history:
            if turn.role == "system" and (options.system_prompt or messages):
                continue
            messages.append({"role": turn.role, "content": turn.content})
    messages.append({"role": "user", "content": trace.query})
    return messages


def sft_rows(traces: Iterable[LoadedTrace], options: RowOptions, stats: RowStats | None = None) -> list[dict[str, Any]]:
    """One chat row per trace: the prompt, then the best iterate's reasoning and answer.

    Args:
        traces: validated traces with their source lines.
        options: filters and formatting.
        stats: filled with counts of used and skipped traces when given.

    Returns:
        Rows ``{"messages": [...], "lineage": {...}}`` in trace order.
    """
    stats = stats if stats is not None else RowStats()
    rows: list[dict[str, Any]] = []
    for loaded in traces:
        stats.traces += 1
        trace = loaded.trace
        best = trace.best
        if not options.allow_fallbacks and has_fallback(trace):
            stats.fallback += 1
            continue
        if not passes(best, options):
            stats.below_threshold += 1
            continue
        if not clean_answer(best.answer):
            stats.empty_answer += 1
            continue
        stats.used += 1
        messages = prompt_messages(trace, options)
        messages.append({"role": "assistant", "content": assistant_content(best, options.reasoning, seed_text=trace.query)})
        lineage = _base_lineage(loaded) | {
            "iterate": best.step,
            "safety_score": best.safety_score,
            "satisfaction_score": best.satisfaction_score,
            "constructive_score": best.constructive_score,
        }
        rows.append({"messages": messages, "lineage": lineage})
    return rows


def preference_rows(
    traces: Iterable[LoadedTrace], options: RowOptions, stats: RowStats | None = None
) -> list[dict[str, Any]]:
    """Pairs per trace: the best iterate against worse answers the trace really holds.

    Rejected answers are, in this order, iterates judged unsafe, flat refusals, the initial answer
    and other worse iterates, so the student sees both edges of the boundary. Candidate strategies
    are plans, not answers, and are never used.

    Returns:
        Rows ``{"prompt": [...], "chosen": [assistant], "rejected": [assistant], "lineage": {...}}``.
    """
    stats = stats if stats is not None else RowStats()
    rows: list[dict[str, Any]] = []
    for loaded in traces:
        stats.traces += 1
        trace = loaded.trace
        best = trace.best
        if not options.allow_fallbacks and has_fallback(trace):
            stats.fallback += 1
            continue
        if not passes(best, options):
            stats.below_threshold += 1
            continue
        chosen_answer = clean_answer(best.answer)
        if not chosen_answer:
            stats.empty_answer += 1
            continue
        worse: list[Iterate] = []
        seen = {chosen_answer}
        for it in trace.iterates:
            answer = clean_answer(it.answer)
            if it.step == best.step or not answer or answer in seen or not _is_worse(it, best, options.min_margin):
                continue
            seen.add(answer)
            worse.append(it)
        worse.sort(key=lambda it: (_KIND_ORDER[rejected_kind(it)], it.constructive_score, it.step))
        if not worse:
            stats.no_pair += 1
            continue
        stats.used += 1
        prompt = prompt_messages(trace, options)
        chosen = [{"role": "assistant", "content": assistant_content(best, options.reasoning, seed_text=trace.query)}]
        for it in worse[: options.max_pairs]:
            rejected = [{"role": "assistant", "content": assistant_content(it, options.reasoning, seed_text=trace.query)}]
            lineage = _base_lineage(loaded) | {
                "chosen_iterate": best.step,
                "rejected_iterate": it.step,
                "rejected_kind": rejected_kind(it),
                "chosen_safety": best.safety_score,
                "rejected_safety": it.safety_score,
                "chosen_constructive": best.constructive_score,
                "rejected_constructive": it.constructive_score,
            }
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "lineage": lineage})
    return rows


def _is_worse(candidate: Iterate, best: Iterate, margin: float) -> bool:
    if candidate.safety_score < best.safety_score - _EPS:
        return True
    if candidate.safety_score > best.safety_score + _EPS:
        return False
    return best.constructive_score - candidate.constructive_score >= max(margin, _EPS)


def trace_digest(trace: RunTrace) -> str:
    """A short content hash of a trace: joins rows to traces that carry no trace id."""
    key = json.dumps([trace.created_at, trace.query, [it.answer for it in trace.iterates]], ensure_ascii=False)
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _base_lineage(loaded: LoadedTrace) -> dict[str, Any]:
    trace = loaded.trace
    return {
        "trace_id": trace.trace_id or "",
        "run_id": trace.id or "",
        "trace_sha": trace_digest(trace),
        "source": loaded.location,
        "category": trace.assessment.category,
        "level": trace.assessment.level.value,
    }


# ---- text helpers ------------------------------------------------------------------------------------
def _has_risk(chain: ReasoningChain) -> bool:
    text = chain.risk_intent.strip().lower().rstrip(".")
    return bool(text) and text not in {"none", "no risk", "n/a", "nothing", "no"}


_SUBJECTLESS = {"wants", "needs", "seeks", "hopes", "asks", "wishes", "would", "is", "has", "feels", "worries"}


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    if text.split(" ", 1)[0] in _SUBJECTLESS:  # "wants to ..." reads as a fragment in prose
        text = "The person " + text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _phrase(text: str) -> str:
    text = " ".join(text.split()).rstrip(".;,")
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def _join_phrases(items: list[str]) -> str:
    phrases = [p for p in (_phrase(i) for i in items) if p]
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


@lru_cache(maxsize=None)
def _template(name: str) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    source = resources.files("oyster_agents").joinpath(f"prompts/{name}").read_text(encoding="utf-8")
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    return env.from_string(source)


def _render(name: str, **values: Any) -> str:
    return _template(name).render(**values).strip()
