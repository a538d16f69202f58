"""Traces → training rows: chat ``messages`` for SFT, ``prompt``/``chosen``/``rejected`` for preferences.

Each assistant turn is ``<think>reasoning</think>`` then the answer. The reasoning comes from the run
itself, the iterate's chain (need, risk, boundary, strategies) and the responder's own reasoning: in
plain prose (``think``, the paper's style), as the labelled chain (``chain``), or left out (``none``).
The prose is written by a model at export time when a writer is given (``reasoning_from="model"``),
else filled from a template. A leak check then removes sentences that reproduce the policy's rule
text or the adapted guideline; a trained answer that reproduces them drops the row.
Every row carries a ``lineage`` record: trace id, source line, iterate(s), verdict and scores.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oyster_agents.distill.leaks import LeakCheck, LeakSettings
from oyster_agents.distill.traces import LoadedTrace
from oyster_agents.schemas.chain import ReasoningChain
from oyster_agents.schemas.critique import SafetyVerdict
from oyster_agents.schemas.distill import ReasoningSource
from oyster_agents.schemas.trace import Iterate, RunTrace

ReasoningFormat = Literal["think", "chain", "none"]
ReasoningFrom = Literal["model", "template"]
ProfileMode = Literal["include", "exclude"]
RejectedKind = Literal["unsafe", "refusal", "unguided", "initial", "worse"]
# Writes one answer's reasoning from the run's material; ``None`` when the model gave nothing usable.
ReasoningWriter = Callable[[ReasoningSource], "str | None"]
# Roles whose fallback values make an iterate's answer or scores canned rather than judged.
_JUDGED_ROLES = frozenset({"responder", "safety_critic", "satisfaction_critic"})
_KIND_ORDER: dict[str, int] = {"unsafe": 0, "refusal": 1, "unguided": 2, "initial": 3, "worse": 4}
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_TAG = re.compile(r"</?think>", re.IGNORECASE)
_EPS = 1e-9


class RowOptions(BaseModel):
    """How traces become rows.

    Attributes:
        reasoning: ``think`` (prose reasoning), ``chain`` (the labelled chain) or ``none``.
        reasoning_from: ``model`` (``think`` prose written by the writer passed to the row builders)
            or ``template`` (filled from ``distill/templates/think.j2``).
        min_safety: lowest safety score of a training answer (SFT rows, chosen answers).
        min_constructive: lowest constructive score of a training answer; ``None`` for no limit.
        system_prompt: a system turn put before every prompt; ``None`` for none.
        include_history: keep earlier turns of multi-turn traces in the prompt.
        profile: ``exclude`` leaves out traces made with a user profile (the target answers context the
            student would not see); ``include`` keeps them and puts the profile in a system turn.
        leak_check: remove rule text from targets (see ``distill.leaks``).
        leaks: the leak check's n-gram settings.
        allow_fallbacks: also use traces whose answer or judgments came from a documented fallback.
        max_pairs: most preference pairs per trace.
        min_margin: least constructive-score gap between chosen and rejected when both are equally safe.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    reasoning: ReasoningFormat = "think"
    reasoning_from: ReasoningFrom = "template"
    min_safety: float = Field(default=1.0, ge=0.0, le=1.0)
    min_constructive: float | None = None
    system_prompt: str | None = None
    include_history: bool = True
    profile: ProfileMode = "exclude"
    leak_check: bool = True
    leaks: LeakSettings = Field(default_factory=LeakSettings)
    allow_fallbacks: bool = False
    max_pairs: int = Field(default=4, ge=1)
    min_margin: float = Field(default=0.0, ge=0.0)


class RowStats(BaseModel):
    """Why traces produced no row, and what the reasoning and leak steps did."""

    traces: int = 0
    used: int = 0
    below_threshold: int = 0
    fallback: int = 0
    empty_answer: int = 0
    no_pair: int = 0
    profile_excluded: int = 0
    leak_dropped: int = 0
    leak_rewritten: int = 0
    leak_sentences: int = 0
    reasoning_written: int = 0
    reasoning_fallback: int = 0


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
        return _render("chain.j2", chain=chain, note=note)
    return _render(
        "think.j2",
        need=_sentence(chain.user_need) or "They want a clear, useful answer.",
        risk=_sentence(chain.risk_intent) if _has_risk(chain) else "",
        boundary=_sentence(chain.guideline),
        helpful=_join_phrases(chain.usefulness_strategies) or "answer the question clearly",
        safe=_join_phrases(chain.safety_strategies),
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


# ---- classification ----------------------------------------------------------------------------------
def is_flat_refusal(iterate: Iterate) -> bool:
    """Judged as refusing without help: unwilling to help and the task not done."""
    scores = iterate.satisfaction.scores
    return scores.willingness_to_help <= -1 and scores.task_completion <= -1


def is_unguided(iterate: Iterate, index: int) -> bool:
    """The model's own first answer, written without the game's guidance (schema 1.1's iterate 0)."""
    return iterate.origin == "unguided" and iterate.step == 0 and index == 0


def rejected_kind(iterate: Iterate, index: int | None = None) -> RejectedKind:
    """Which edge of the boundary a worse answer stands for."""
    if iterate.safety.verdict == SafetyVerdict.UNSAFE:
        return "unsafe"
    if is_flat_refusal(iterate):
        return "refusal"
    if is_unguided(iterate, iterate.step if index is None else index):
        return "unguided"
    return "initial" if iterate.step == 0 else "worse"


def rejected_reason(trace: RunTrace, index: int) -> str:
    """Why ``trace.iterates[index]`` lost to the returned answer, in one sentence of plain words."""
    it, best = trace.iterates[index], trace.best
    kind = rejected_kind(it, index)
    if kind == "unsafe":
        why = "judged unsafe" + (f": {_sentence(it.safety.explanation)}" if it.safety.explanation.strip() else ".")
    elif kind == "refusal":
        why = "a flat refusal: judged unwilling to help and not doing the task."
    elif kind == "unguided":
        why = "the model's own first answer, written without the game's guidance, and beaten by the returned answer."
    elif it.safety_score < best.safety_score - _EPS:
        why = "judged less safe than the returned answer."
    else:
        why = "judged less helpful than the returned answer."
    if kind in ("unsafe", "refusal") and is_unguided(it, index):
        why = why[:-1] + "; it was the model's own unguided first answer."
    scores = (
        f" Safety {it.safety_score:.2f} vs {best.safety_score:.2f}, constructive "
        f"{it.constructive_score:.2f} vs {best.constructive_score:.2f}."
    )
    selection = f" {_sentence(trace.selection_reason)}" if kind == "unguided" and trace.selection_reason.strip() else ""
    return why[0].upper() + why[1:] + scores + selection


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
    """System turn (optional; with ``profile="include"`` it carries the user's profile), earlier turns
    (optional) and the user's query."""
    messages: list[dict[str, str]] = []
    system = [options.system_prompt] if options.system_prompt else []
    if options.profile == "include" and trace.profile and trace.profile.strip():
        system.append(f"About the user: {trace.profile.strip()}")
    if system:
        messages.append({"role": "system", "content": "\n\n".join(system)})
    if options.include_history:
        for turn in trace.history:
            if turn.role == "system" and messages:
                continue
            messages.append({"role": turn.role, "content": turn.content})
    messages.append({"role": "user", "content": trace.query})
    return messages


def _usable(trace: RunTrace, options: RowOptions, stats: RowStats) -> bool:
    """Filters shared by both row kinds; counts the reason a trace is left out."""
    if trace.profile and trace.profile.strip() and options.profile == "exclude":
        stats.profile_excluded += 1
        return False
    if not options.allow_fallbacks and has_fallback(trace):
        stats.fallback += 1
        return False
    if not passes(trace.best, options):
        stats.below_threshold += 1
        return False
    if not clean_answer(trace.best.answer):
        stats.empty_answer += 1
        return False
    return True


def sft_rows(
    traces: Iterable[LoadedTrace],
    options: RowOptions,
    stats: RowStats | None = None,
    *,
    targets: TargetBuilder | None = None,
) -> list[dict[str, Any]]:
    """One chat row per trace: the prompt, then the best iterate's reasoning and answer.

    Args:
        traces: validated traces with their source lines.
        options: filters and formatting.
        stats: filled with counts of used and skipped traces when given.
        targets: builds the assistant turns (model-written reasoning, leak check); by default the
            template with the leak check over the traces' own rule texts.

    Returns:
        Rows ``{"messages": [...], "lineage": {...}}`` in trace order.
    """
    stats = stats if stats is not None else RowStats()
    targets = targets or TargetBuilder(options, stats)
    rows: list[dict[str, Any]] = []
    for loaded in traces:
        stats.traces += 1
        trace = loaded.trace
        if not _usable(trace, options, stats):
            continue
        best = trace.best
        content = targets.content(trace, trace.best_iterate)
        if content is None:
            stats.leak_dropped += 1
            continue
        stats.used += 1
        messages = prompt_messages(trace, options)
        messages.append({"role": "assistant", "content": content})
        lineage = _base_lineage(loaded) | {
            "iterate": best.step,
            "verdict": best.safety.verdict.value,
            "safety_score": best.safety_score,
            "satisfaction_score": best.satisfaction_score,
            "constructive_score": best.constructive_score,
        }
        rows.append({"messages": messages, "lineage": lineage})
    return rows


def preference_rows(
    traces: Iterable[LoadedTrace],
    options: RowOptions,
    stats: RowStats | None = None,
    *,
    targets: TargetBuilder | None = None,
) -> list[dict[str, Any]]:
    """Pairs per trace: the returned iterate against worse answers the trace really holds.

    Rejected answers are, in this order, iterates judged unsafe, flat refusals, the model's own
    unguided first answer when the returned answer beat it (schema 1.1), the initial answer and other
    worse iterates, so the student sees both edges of the boundary. Candidate strategies are plans,
    not answers, and are never used. Each row's ``rejected_reason`` says why its rejected side lost.

    Returns:
        Rows ``{"prompt": [...], "chosen": [assistant], "rejected": [assistant], "rejected_reason": str,
        "lineage": {...}}``.
    """
    stats = stats if stats is not None else RowStats()
    targets = targets or TargetBuilder(options, stats)
    rows: list[dict[str, Any]] = []
    for loaded in traces:
        stats.traces += 1
        trace = loaded.trace
        if not _usable(trace, options, stats):
            continue
        best = trace.best
        worse: list[int] = []
        seen = {clean_answer(best.answer)}
        for index, it in enumerate(trace.iterates):
            answer = clean_answer(it.answer)
            if index == trace.best_iterate or not answer or answer in seen:
                continue
            if not (is_unguided(it, index) or _is_worse(it, best, options.min_margin)):
                continue
            seen.add(answer)
            worse.append(index)
        worse.sort(key=lambda i: (_KIND_ORDER[rejected_kind(trace.iterates[i], i)], trace.iterates[i].constructive_score, i))
        if not worse:
            stats.no_pair += 1
            continue
        chosen_content = targets.content(trace, trace.best_iterate)
        if chosen_content is None:
            stats.leak_dropped += 1
            continue
        stats.used += 1
        prompt = prompt_messages(trace, options)
        chosen = [{"role": "assistant", "content": chosen_content}]
        for index in worse[: options.max_pairs]:
            it = trace.iterates[index]
            rejected = [{"role": "assistant", "content": targets.content(trace, index, trained=False)}]
            lineage = _base_lineage(loaded) | {
                "chosen_iterate": best.step,
                "rejected_iterate": it.step,
                "rejected_kind": rejected_kind(it, index),
                "verdict": best.safety.verdict.value,
                "rejected_verdict": it.safety.verdict.value,
                "chosen_safety": best.safety_score,
                "rejected_safety": it.safety_score,
                "chosen_constructive": best.constructive_score,
                "rejected_constructive": it.constructive_score,
            }
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected,
                         "rejected_reason": rejected_reason(trace, index), "lineage": lineage})
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

    source = resources.files("oyster_agents.distill.templates").joinpath(name).read_text(encoding="utf-8")
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    return env.from_string(source)


def _render(name: str, **values: Any) -> str:
    return _template(name).render(**values).strip()
