"""Traces → training rows: chat ``messages`` for SFT, ``prompt``/``chosen``/``rejected`` for preferences.

Which traces and iterates are used, and in which pairs, is decided here; each assistant turn (the
reasoning, then the answer, leak-checked) is written by :class:`~oyster_agents.distill.assistant.TargetBuilder`.
Every row carries a ``lineage`` record: trace id, source line, iterate(s), verdict and scores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from oyster_agents._moved import moved_names
from oyster_agents.distill._text import sentence
from oyster_agents.distill.assistant import TargetBuilder, clean_answer
from oyster_agents.distill.row_options import (  # noqa: F401  (the options are also read from here)
    ProfileMode,
    ReasoningFormat,
    ReasoningFrom,
    RejectedKind,
    RowOptions,
    RowStats,
)
from oyster_agents.distill.traces import LoadedTrace
from oyster_agents.schemas.critique import SafetyVerdict
from oyster_agents.schemas.trace import Iterate, RunTrace

# Roles whose fallback values make an iterate's answer or scores canned rather than judged.
_JUDGED_ROLES = frozenset({"responder", "safety_critic", "satisfaction_critic"})
_KIND_ORDER: dict[str, int] = {"unsafe": 0, "refusal": 1, "unguided": 2, "initial": 3, "worse": 4}
_EPS = 1e-9


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
        why = "judged unsafe" + (f": {sentence(it.safety.explanation)}" if it.safety.explanation.strip() else ".")
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
    selection = f" {sentence(trace.selection_reason)}" if kind == "unguided" and trace.selection_reason.strip() else ""
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


def _trained_turn(targets: TargetBuilder, trace: RunTrace, stats: RowStats) -> str | None:
    """The returned answer's assistant turn; ``None`` (counted) when it reproduces rule text."""
    content = targets.content(trace, trace.best_iterate)
    if content is None:
        stats.leak_dropped += 1
    else:
        stats.used += 1
    return content


# Rows of one usable trace (none when it yields no row; the reason is counted in the stats).
_RowMaker = Callable[[LoadedTrace, RowOptions, RowStats, TargetBuilder], list[dict[str, Any]]]


def _build(
    traces: Iterable[LoadedTrace], options: RowOptions, stats: RowStats | None, targets: TargetBuilder | None,
    make: _RowMaker,
) -> list[dict[str, Any]]:
    stats = stats if stats is not None else RowStats()
    targets = targets or TargetBuilder(options, stats)
    rows: list[dict[str, Any]] = []
    for loaded in traces:
        stats.traces += 1
        if _usable(loaded.trace, options, stats):
            rows += make(loaded, options, stats, targets)
    return rows


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
    return _build(traces, options, stats, targets, _sft_row)


def _sft_row(loaded: LoadedTrace, options: RowOptions, stats: RowStats, targets: TargetBuilder) -> list[dict[str, Any]]:
    trace, best = loaded.trace, loaded.trace.best
    content = _trained_turn(targets, trace, stats)
    if content is None:
        return []
    messages = prompt_messages(trace, options) + [{"role": "assistant", "content": content}]
    lineage = _base_lineage(loaded) | {
        "iterate": best.step,
        "verdict": best.safety.verdict.value,
        "safety_score": best.safety_score,
        "satisfaction_score": best.satisfaction_score,
        "constructive_score": best.constructive_score,
    }
    return [{"messages": messages, "lineage": lineage}]


def preference_rows(
    traces: Iterable[LoadedTrace], options: RowOptions, stats: RowStats | None = None, *,
    targets: TargetBuilder | None = None,
) -> list[dict[str, Any]]:
    """Pairs per trace: the returned iterate against worse answers the trace really holds.

    Rejected answers are, in this order, iterates judged unsafe, flat refusals, the model's own
    unguided first answer when the returned answer beat it (schema 1.1), the initial answer and other
    worse iterates, so the student sees both edges of the boundary. Candidate strategies are plans,
    not answers, and are never used. Each row's ``rejected_reason`` says why its rejected side lost.
    Arguments as for :func:`sft_rows`.

    Returns:
        Rows ``{"prompt": [...], "chosen": [assistant], "rejected": [assistant], "rejected_reason": str,
        "lineage": {...}}``.
    """
    return _build(traces, options, stats, targets, _preference_rows_of)


def _preference_rows_of(
    loaded: LoadedTrace, options: RowOptions, stats: RowStats, targets: TargetBuilder
) -> list[dict[str, Any]]:
    trace, best = loaded.trace, loaded.trace.best
    worse = _worse_iterates(trace, options.min_margin)
    if not worse:
        stats.no_pair += 1
        return []
    chosen_content = _trained_turn(targets, trace, stats)
    if chosen_content is None:
        return []
    prompt = prompt_messages(trace, options)
    chosen = [{"role": "assistant", "content": chosen_content}]
    rows = []
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


def _worse_iterates(trace: RunTrace, min_margin: float = 0.0) -> list[int]:
    """Indices of the iterates that can stand as rejected answers beside the returned one, best pair first:
    distinct non-empty answers that are worse (or the model's own unguided first answer), by kind of edge."""
    best = trace.best
    worse: list[int] = []
    seen = {clean_answer(best.answer)}
    for index, it in enumerate(trace.iterates):
        answer = clean_answer(it.answer)
        if index == trace.best_iterate or not answer or answer in seen:
            continue
        if not (is_unguided(it, index) or _is_worse(it, best, min_margin)):
            continue
        seen.add(answer)
        worse.append(index)
    worse.sort(key=lambda i: (_KIND_ORDER[rejected_kind(trace.iterates[i], i)], trace.iterates[i].constructive_score, i))
    return worse


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


# Deprecated: the assistant-turn helpers live in ``distill.assistant``.
__getattr__ = moved_names(
    __name__,
    dict.fromkeys(
        ("ReasoningWriter", "assistant_content", "reasoning_source", "reasoning_text", "rule_texts"),
        "oyster_agents.distill.assistant",
    ),
)
