"""Traces → rows: reasoning text, SFT rows, preference pairs, reading bad files, dedupe and split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oyster_agents.distill.assistant import assistant_content, clean_answer, reasoning_text
from oyster_agents.distill.dataset import DatasetOptions, export_dataset, read_manifest
from oyster_agents.distill.rows import RowOptions, RowStats, preference_rows, sft_rows
from oyster_agents.distill.split import dedupe_rows, split_rows
from oyster_agents.distill.traces import LoadedTrace, read_traces
from oyster_agents.errors import InputError
from oyster_agents.schemas import RunTrace

GOOD = {"empathy": 1, "willingness_to_help": 1, "task_completion": 1, "relevance": 1, "informativeness": 1}
REFUSING = {"empathy": 0, "willingness_to_help": -1, "task_completion": -1, "relevance": 0, "informativeness": -1}
MIXED = {"empathy": 1, "willingness_to_help": 0, "task_completion": 0, "relevance": 1, "informativeness": 0}


def _iterate(step: int, verdict: str, rubric: dict[str, int], answer: str, *, risk: str = "") -> dict:
    safety = {"safe": 1.0, "borderline": 0.5, "unsafe": 0.0}[verdict]
    satisfaction = sum(rubric.values()) / 5
    return {
        "step": step,
        "chain": {
            "user_need": "wants to get rid of mould in the bathroom",
            "risk_intent": risk,
            "guideline": "give safe cleaning steps and never suggest mixing cleaning chemicals",
            "usefulness_strategies": ["Give the cleaning steps in order", "suggest how to prevent regrowth"],
            "safety_strategies": ["warn against mixing bleach with ammonia"],
        },
        "reasoning": "Practical steps first, then the warning.",
        "answer": answer,
        "safety": {"verdict": verdict, "explanation": "e", "suggestion": "s"},
        "satisfaction": {"scores": rubric, "fixes": []},
        "safety_score": safety,
        "satisfaction_score": satisfaction,
        "constructive_score": satisfaction - 2 * (1 - safety),
    }


def make_trace(query: str = "How do I clean mould off bathroom tiles?", *, iterates=None, best: int | None = None, **extra) -> dict:
    """A schema-valid trace dict; by default a refusal, an unsafe answer, then a good answer."""
    iterates = iterates or [
        _iterate(0, "safe", REFUSING, "I can't help with that."),
        _iterate(1, "unsafe", GOOD, "Mix bleach and ammonia for a stronger cleaner."),
        _iterate(2, "safe", GOOD, "<think>old</think>Scrub with diluted bleach, ventilate, and never mix it with ammonia."),
    ]
    scores = [(it["safety_score"], it["constructive_score"]) for it in iterates]
    trace = {
        "trace_id": "t-1",
        "id": "q-1",
        "query": query,
        "assessment": {
            "category": "hazardous_materials", "level": "R1", "interaction_form": "inquiry", "severity": 2,
            "user_type_posterior": {"benign": 0.7, "sensitive": 0.2, "malicious": 0.1},
            "user_need": "clean mould", "risk_intent": "", "adapted_guideline": "no chemical mixing",
        },
        "candidates": [],
        "chosen": 0,
        "iterates": iterates,
        "best_iterate": best if best is not None else max(range(len(scores)), key=lambda i: scores[i]),
        "answer": iterates[-1]["answer"],
        "usage": {},
    }
    trace.update(extra)
    return trace


def loaded(trace: dict, line: int = 1) -> LoadedTrace:
    return LoadedTrace(trace=RunTrace.model_validate(trace), source="traces.jsonl", line=line)


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


# ---- reasoning text --------------------------------------------------------------------------------
FIELD_NAMES = ("user_need", "risk_intent", "usefulness_strategies", "safety_strategies", "guideline", "Lingo", "iterate", "chain")


@pytest.mark.parametrize("query", ["q one", "q two", "q three", "q four", "q five", "q six"])
def test_think_text_is_prose_over_need_risk_boundary_strategy_without_field_names(query):
    trace = RunTrace.model_validate(make_trace())
    text = reasoning_text(trace.iterates[2], "think", seed_text=query)
    assert "The person wants to get rid of mould in the bathroom." in text
    assert "never suggest mixing cleaning chemicals" in text
    assert "give the cleaning steps in order and suggest how to prevent regrowth" in text
    assert "warn against mixing bleach with ammonia" in text
    assert "Practical steps first" in text
    for name in FIELD_NAMES:
        assert name.lower() not in text.lower()


def test_think_wording_varies_across_queries_and_mentions_risk_only_when_present():
    it = RunTrace.model_validate(make_trace()).iterates[2]
    texts = {reasoning_text(it, "think", seed_text=f"query {i}") for i in range(12)}
    assert len(texts) == 3
    risky = RunTrace.model_validate(make_trace(iterates=[_iterate(0, "safe", GOOD, "ok", risk="could be used to poison someone")]))
    assert "Could be used to poison someone." in reasoning_text(risky.iterates[0], "think", seed_text="x")
    assert all("harm" in t or "risk" in t for t in texts)


def test_chain_format_lists_the_explicit_chain():
    it = RunTrace.model_validate(make_trace()).iterates[2]
    text = reasoning_text(it, "chain")
    assert text.startswith("User need: wants to get rid of mould")
    assert "Risk intent: none" in text
    assert "- warn against mixing bleach with ammonia" in text


def test_assistant_content_wraps_reasoning_and_strips_old_think_blocks():
    it = RunTrace.model_validate(make_trace()).iterates[2]
    content = assistant_content(it, "think", seed_text="x")
    assert content.startswith("<think>\n") and content.count("<think>") == 1
    assert content.endswith("</think>\n\nScrub with diluted bleach, ventilate, and never mix it with ammonia.")
    assert assistant_content(it, "none") == "Scrub with diluted bleach, ventilate, and never mix it with ammonia."
    assert clean_answer("<think>a</think> b </think>") == "b"


# ---- SFT rows ----------------------------------------------------------------------------------------
def test_sft_row_is_chat_messages_of_the_best_iterate_with_lineage():
    rows = sft_rows([loaded(make_trace(history=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]))],
                    RowOptions(system_prompt="Be kind."))
    assert len(rows) == 1
    messages = rows[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert messages[3]["content"] == "How do I clean mould off bathroom tiles?"
    assert "never mix it with ammonia" in messages[-1]["content"]
    lineage = rows[0]["lineage"]
    assert lineage["trace_id"] == "t-1" and lineage["run_id"] == "q-1" and lineage["source"] == "traces.jsonl:1"
    assert lineage["iterate"] == 2 and lineage["safety_score"] == 1.0 and lineage["constructive_score"] == 1.0
    assert len(lineage["trace_sha"]) == 16


def test_sft_filters_by_safety_constructive_and_fallbacks():
    unsafe_best = make_trace(iterates=[_iterate(0, "borderline", GOOD, "meh")])
    mixed = make_trace(iterates=[_iterate(0, "safe", MIXED, "partly")])
    fallback = make_trace(fallbacks=[{"role": "responder", "kind": "fallback_value"}])
    harmless_fallback = make_trace(fallbacks=[{"role": "reviser", "kind": "trust_region"}])
    stats = RowStats()
    rows = sft_rows([loaded(t, i) for i, t in enumerate([unsafe_best, mixed, fallback, harmless_fallback])],
                    RowOptions(min_constructive=0.5), stats)
    assert [r["lineage"]["source"] for r in rows] == ["traces.jsonl:3"]
    assert (stats.traces, stats.used, stats.below_threshold, stats.fallback) == (4, 1, 2, 1)
    assert len(sft_rows([loaded(unsafe_best)], RowOptions(min_safety=0.5))) == 1
    assert len(sft_rows([loaded(fallback)], RowOptions(allow_fallbacks=True))) == 1


# ---- preference rows ---------------------------------------------------------------------------------
def test_preference_pairs_cover_both_edges_of_the_boundary_in_order():
    rows = preference_rows([loaded(make_trace())], RowOptions())
    kinds = [r["lineage"]["rejected_kind"] for r in rows]
    assert kinds == ["unsafe", "refusal"]
    unsafe, refusal = rows
    assert unsafe["prompt"] == [{"role": "user", "content": "How do I clean mould off bathroom tiles?"}]
    assert unsafe["chosen"][0]["role"] == "assistant" and "never mix it with ammonia" in unsafe["chosen"][0]["content"]
    assert unsafe["rejected"][0]["content"].endswith("Mix bleach and ammonia for a stronger cleaner.")
    assert refusal["rejected"][0]["content"].endswith("I can't help with that.")
    assert unsafe["lineage"]["chosen_iterate"] == 2 and unsafe["lineage"]["rejected_iterate"] == 1
    assert unsafe["lineage"]["rejected_safety"] == 0.0


def test_preference_uses_only_real_answers_and_respects_margin_and_max_pairs():
    # Candidates (plans such as refusal_with_guidance) are not answers: a single-iterate trace has no pair.
    single = make_trace(iterates=[_iterate(0, "safe", GOOD, "fine")])
    stats = RowStats()
    assert preference_rows([loaded(single)], RowOptions(), stats) == [] and stats.no_pair == 1
    close = make_trace(iterates=[_iterate(0, "safe", MIXED, "first"), _iterate(1, "safe", GOOD, "second")])
    assert [r["lineage"]["rejected_kind"] for r in preference_rows([loaded(close)], RowOptions())] == ["initial"]
    assert preference_rows([loaded(close)], RowOptions(min_margin=0.8)) == []
    assert len(preference_rows([loaded(make_trace())], RowOptions(max_pairs=1))) == 1
    same_text = make_trace(iterates=[_iterate(0, "safe", MIXED, "same"), _iterate(1, "safe", GOOD, "same")])
    assert preference_rows([loaded(same_text)], RowOptions()) == []


def test_preference_skips_traces_whose_best_fails_the_filters():
    trace = make_trace(iterates=[_iterate(0, "unsafe", GOOD, "bad"), _iterate(1, "borderline", GOOD, "less bad")])
    stats = RowStats()
    assert preference_rows([loaded(trace)], RowOptions(), stats) == [] and stats.below_threshold == 1


# ---- reading traces ----------------------------------------------------------------------------------
def test_malformed_lines_are_reported_with_file_and_line_and_skipped(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [
        make_trace(),
        "{not json",
        {"id": "q-9", "status": "error", "query": "q", "error": {"type": "BackendError", "message": "server down"}},
        {"query": "missing everything"},
        [1, 2],
        make_trace(iterates=[_iterate(0, "safe", GOOD, "x")], best=3),
        make_trace("second query"),
    ])
    traces, problems = read_traces([path, tmp_path / "missing.jsonl"])
    assert [t.line for t in traces] == [1, 7]
    where = [(p.source.rsplit("/", 1)[-1], p.line) for p in problems]
    assert where == [("t.jsonl", 2), ("t.jsonl", 3), ("t.jsonl", 4), ("t.jsonl", 5), ("t.jsonl", 6), ("missing.jsonl", 0)]
    assert problems[1].reason == "error record of failed query q-9: BackendError: server down"
    assert "not a run trace" in problems[2].reason
    assert "out of range" in problems[4].reason and "cannot read" in problems[5].reason


def test_bad_bytes_cost_one_line_and_folders_and_gzip_are_read(tmp_path):
    import gzip

    folder = tmp_path / "traces"
    folder.mkdir()
    good = json.dumps(make_trace()).encode()
    (folder / "a.jsonl").write_bytes(good + b"\n" + b"\xff\xfe broken\n" + good + b"\n")
    with gzip.open(folder / "b.jsonl.gz", "wb") as handle:
        handle.write(good + b"\n")
    (folder / "notes.txt").write_text("ignored")
    traces, problems = read_traces([folder])
    assert [(t.source.rsplit("/", 1)[-1], t.line) for t in traces] == [("a.jsonl", 1), ("a.jsonl", 3), ("b.jsonl.gz", 1)]
    assert [(p.line, p.reason) for p in problems] == [(2, "not valid UTF-8 text (byte 0)")]


def test_reads_pretty_printed_single_trace_and_json_list(tmp_path):
    single = tmp_path / "run.json"
    single.write_text("\n" + json.dumps(make_trace(), indent=2), encoding="utf-8")
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps([make_trace(), make_trace("b")]), encoding="utf-8")
    traces, problems = read_traces([single, listing])
    assert not problems and len(traces) == 3 and traces[0].line == 2


# ---- dedupe, split, export ---------------------------------------------------------------------------
def test_dedupe_exact_and_by_prompt():
    a = sft_rows([loaded(make_trace(), 1), loaded(make_trace(), 2)], RowOptions())
    assert len(dedupe_rows(a, "sft", "exact")) == 1 and len(dedupe_rows(a, "sft", "none")) == 2
    worse = make_trace(iterates=[_iterate(0, "safe", MIXED, "a shorter answer")])
    b = sft_rows([loaded(worse, 1), loaded(make_trace(), 2)], RowOptions())
    kept = dedupe_rows(b, "sft", "prompt")
    assert [r["lineage"]["source"] for r in kept] == ["traces.jsonl:2"]


def test_split_is_seeded_and_never_splits_a_prompt():
    rows = sft_rows([loaded(make_trace(f"query {i % 10}"), i) for i in range(30)], RowOptions())
    first = split_rows(rows, "sft", 0.2, seed=3)
    again = split_rows(rows, "sft", 0.2, seed=3)
    other = split_rows(rows, "sft", 0.2, seed=4)
    assert first == again and first != other
    test_prompts = {r["messages"][0]["content"] for r in first["test"]}
    train_prompts = {r["messages"][0]["content"] for r in first["train"]}
    assert len(test_prompts) == 2 and not test_prompts & train_prompts
    assert len(first["train"]) + len(first["test"]) == 30
    assert split_rows(rows[:1], "sft", 0.5, seed=0)["test"] == []


def test_export_writes_loadable_split_files_and_manifest(tmp_path):
    traces = write_jsonl(tmp_path / "t.jsonl", [make_trace(f"query {i}") for i in range(10)] + ["oops"])
    report = export_dataset("preference", [traces], tmp_path / "pref", DatasetOptions(eval_fraction=0.2, seed=1))
    assert report.counts == {"train": 16, "test": 4}
    assert report.files == {"train": "train.jsonl", "test": "test.jsonl"}
    assert [(p.line, p.reason[:12]) for p in report.problems] == [(11, "invalid JSON")]
    manifest = read_manifest(tmp_path / "pref")
    assert manifest is not None and manifest.kind == "preference" and manifest.stats.used == 10
    row = json.loads((tmp_path / "pref" / "train.jsonl").read_text().splitlines()[0])
    assert set(row) == {"prompt", "chosen", "rejected", "rejected_reason", "lineage"}
    # A re-export without a split removes the stale test file.
    export_dataset("preference", [traces], tmp_path / "pref", DatasetOptions(eval_fraction=0.0))
    assert not (tmp_path / "pref" / "test.jsonl").exists()


def test_export_without_usable_rows_says_why(tmp_path):
    traces = write_jsonl(tmp_path / "t.jsonl", [make_trace(iterates=[_iterate(0, "unsafe", GOOD, "bad")]), "{"])
    with pytest.raises(InputError, match="no sft rows from 1 valid traces.*below_threshold.*t.jsonl:2"):
        export_dataset("sft", [traces], tmp_path / "out")
