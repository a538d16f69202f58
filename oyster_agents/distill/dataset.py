"""Write training datasets: de-duplicate rows, split train/test by prompt with a seed, render, save.

Before the split, rows whose query is an evaluation prompt are refused (or dropped), and general rows
are mixed in at a given share. The folder holds ``train.jsonl``, ``test.jsonl`` (when there is a
split), ``manifest.json`` and ``README.md`` (a Hugging Face dataset card);
``datasets.load_dataset(folder)`` reads it as a ``DatasetDict`` with ``train`` and ``test`` and TRL
trains on it as it is. With ``render_with`` the rows are rendered to text with that tokenizer's chat
template (``prompt``/``completion`` for SFT, ``prompt``/``chosen``/``rejected`` for preferences).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from oyster_agents._moved import moved_names
from oyster_agents._records import read_objects
from oyster_agents.distill.assistant import ReasoningWriter, TargetBuilder
from oyster_agents.distill.contamination import ContaminationIndex, EvalPrompt, Match
from oyster_agents.distill.mix import MixSource, mix_rows, rows_needed
from oyster_agents.distill.render import render_rows
from oyster_agents.distill.rows import RowOptions, RowStats, preference_rows, sft_rows
from oyster_agents.distill.split import DatasetKind, DedupeMode, dedupe_rows, query_of, split_rows
from oyster_agents.distill.traces import LoadedTrace, TraceProblem, read_traces
from oyster_agents.errors import ConfigError, InputError

MANIFEST = "manifest.json"
CARD = "README.md"
FORMAT = "oyster-distill-dataset/2"
SPLIT_FILES = {"train": "train.jsonl", "test": "test.jsonl"}


class DatasetOptions(RowOptions):
    """Row options plus de-duplication, split and rendering.

    Attributes:
        dedupe: ``exact`` drops repeated rows, ``prompt`` keeps only the best-scored trace per prompt,
            ``none`` keeps everything.
        eval_fraction: share of prompts held out in ``test.jsonl`` (0 for none).
        seed: seed of the split.
        render_with: a tokenizer folder; rows are rendered to text with its chat template.
        chat_template: a Jinja file that replaces that tokenizer's chat template for rendering.
        mix: general datasets mixed into SFT rows, each at its share of the final rows (seeded).
        drop_contaminated: drop rows whose query is an evaluation prompt instead of refusing to export.
    """

    dedupe: DedupeMode = "exact"
    eval_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    seed: int = 0
    render_with: str | None = None
    chat_template: str | None = None
    mix: list[MixSource] = Field(default_factory=list)
    drop_contaminated: bool = False


class ContaminationReport(BaseModel):
    """What the contamination check compared against and what it found.

    Attributes:
        checked: evaluation prompts per suite that rows were compared with.
        not_checked: suites that could not be read (with why).
        matches: rows matching an evaluation prompt, per suite.
        dropped: rows dropped for it (with ``drop_contaminated``).
        mix_excluded: general records left out of the mix draw because they match.
        examples: a few matches (``source`` of the row, suite, id, how).
    """

    checked: dict[str, int] = Field(default_factory=dict)
    not_checked: dict[str, str] = Field(default_factory=dict)
    matches: dict[str, int] = Field(default_factory=dict)
    dropped: int = 0
    mix_excluded: int = 0
    examples: list[dict[str, str]] = Field(default_factory=list)


class MixReport(BaseModel):
    """One general dataset mixed in."""

    path: str
    share: float
    rows: int
    seed: int


class ExportReport(BaseModel):
    """What an export wrote and what it skipped (also saved as ``manifest.json``)."""

    format: str = FORMAT
    kind: DatasetKind
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    out_dir: str
    counts: dict[str, int]
    files: dict[str, str]
    rendered: bool
    conversational: bool
    duplicates: int
    stats: RowStats
    problems: list[TraceProblem]
    sources: list[str]
    options: dict[str, Any]
    contamination: ContaminationReport = Field(default_factory=ContaminationReport)
    mix: list[MixReport] = Field(default_factory=list)
    writer_model: str | None = None
    teacher_configs: list[dict[str, Any]] = Field(default_factory=list)
    leak_examples: list[dict[str, Any]] = Field(default_factory=list)


def export_dataset(
    kind: DatasetKind,
    paths: Iterable[str | Path],
    out_dir: str | Path,
    options: DatasetOptions | None = None,
    *,
    writer: ReasoningWriter | None = None,
    writer_model: str | None = None,
    policy_rules: Mapping[str, list[str]] | None = None,
    eval_prompts: Iterable[EvalPrompt] | None = None,
    eval_not_checked: Mapping[str, str] | None = None,
) -> ExportReport:
    """Read traces, build rows, de-duplicate, check against evaluation prompts, mix, split and write.

    Args:
        kind: ``sft`` (chat ``messages``) or ``preference`` (``prompt``/``chosen``/``rejected``).
        paths: trace files (JSON Lines, or JSON as ``oyster run --json`` prints).
        out_dir: the dataset folder to write (created; earlier split files are replaced).
        options: filters, reasoning format, split, mix and rendering.
        writer: writes ``think`` reasoning with a model (needed for ``reasoning_from="model"``).
        writer_model: the writer's model name, for the card.
        policy_rules: rule texts by category (``""``: every category) the targets must not reproduce,
            on top of each trace's own rule and guidelines.
        eval_prompts: evaluation prompts no training query may match (read by the caller at run time).
        eval_not_checked: suites the caller could not read, with why (stated in the card).

    Returns:
        The report, also written to ``out_dir/manifest.json``; the card goes to ``out_dir/README.md``.

    Raises:
        InputError: no row survived, or rows match evaluation prompts and ``drop_contaminated`` is off.
        ConfigError: ``reasoning_from="model"`` without a writer, or ``mix`` on preference rows.

    Example:
        >>> report = export_dataset("sft", ["traces.jsonl"], "data/sft", DatasetOptions(reasoning="think"))
        >>> report.counts
        {'train': 90, 'test': 10}
    """
    options = options or DatasetOptions()
    if options.mix and kind != "sft":
        raise ConfigError("--mix adds chat rows to SFT data; preference rows need a rejected answer, so mix only into sft")
    paths = [str(p) for p in paths]
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise InputError(f"{out_dir} exists and is not a folder; choose a dataset folder for --out (it is left as it is)")
    traces, problems = read_traces(paths)
    stats = RowStats()
    try:
        targets = TargetBuilder(options, stats, writer, policy_rules)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    build = sft_rows if kind == "sft" else preference_rows
    rows = build(traces, options, stats, targets=targets)
    before = len(rows)
    rows = dedupe_rows(rows, kind, options.dedupe)
    duplicates = before - len(rows)
    index = ContaminationIndex(eval_prompts or [])
    contamination = ContaminationReport(checked=index.suites(), not_checked=dict(eval_not_checked or {}))
    rows = _check_contamination(rows, kind, index, contamination, options.drop_contaminated)
    if not rows:
        detail = "; ".join(str(p) for p in problems[:5])
        raise InputError(
            f"no {kind} rows from {len(traces)} valid traces ({stats.model_dump()}); "
            f"{len(problems)} records skipped{': ' + detail if detail else ''}. "
            "Lower --min-safety/--min-constructive or check the trace files."
        )
    mixed: list[MixReport] = []
    if options.mix:
        counts = rows_needed(len(rows), [m.share for m in options.mix])
        general: list[dict[str, Any]] = []
        for number, (source, count) in enumerate(zip(options.mix, counts)):
            seed = options.seed + number
            excluded: list[int] = []
            general += mix_rows(source, count, seed, options.reasoning, keep=_not_eval(index, excluded))
            contamination.mix_excluded += len(excluded)
            mixed.append(MixReport(path=source.path, share=source.share, rows=count, seed=seed))
        rows = rows + general
    splits = split_rows(rows, kind, options.eval_fraction, options.seed)
    if options.render_with:
        splits = {name: render_rows(part, kind, options.render_with, options.chat_template) for name, part in splits.items()}
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the dataset folder {out}: {exc.strerror}") from None
    files: dict[str, str] = {}
    for name, filename in SPLIT_FILES.items():
        target = out / filename
        if splits.get(name):
            _write_jsonl(target, splits[name])
            files[name] = filename
        elif target.exists():
            target.unlink()  # a stale split from an earlier export would be loaded by mistake
    report = ExportReport(
        kind=kind,
        out_dir=str(out),
        counts={name: len(part) for name, part in splits.items() if part},
        files=files,
        rendered=bool(options.render_with),
        conversational=not options.render_with,
        duplicates=duplicates,
        stats=stats,
        problems=problems,
        sources=paths,
        options=options.model_dump(),
        contamination=contamination,
        mix=mixed,
        writer_model=writer_model if options.reasoning_from == "model" and options.reasoning == "think" else None,
        teacher_configs=_teacher_configs(traces),
        leak_examples=targets.examples,
    )
    _atomic_write(out / MANIFEST, report.model_dump_json(indent=2) + "\n")
    from oyster_agents.distill.card import dataset_card

    _atomic_write(out / CARD, dataset_card(report, splits))
    return report


def _check_contamination(
    rows: list[dict[str, Any]], kind: DatasetKind, index: ContaminationIndex, report: ContaminationReport, drop: bool
) -> list[dict[str, Any]]:
    hits: list[tuple[dict[str, Any], Match]] = []
    clean = []
    for row in rows:
        match = index.match(query_of(row, kind))
        if match is None:
            clean.append(row)
            continue
        hits.append((row, match))
        report.matches[match.suite] = report.matches.get(match.suite, 0) + 1
    report.examples = [
        {"source": row["lineage"].get("source", ""), "suite": m.suite, "id": m.id, "how": m.how} for row, m in hits[:5]
    ]
    if hits and not drop:
        listed = "; ".join(f"{e['source']} matches {e['suite']} {e['id']} ({e['how']})" for e in report.examples)
        raise InputError(
            f"{len(hits)} rows have a query that is an evaluation prompt ({listed}). Training on them would "
            "contaminate the evaluation: remove those traces, or pass --drop-contaminated to leave the rows out."
        )
    report.dropped = len(hits)
    return clean


def _not_eval(index: ContaminationIndex, excluded: list[int]) -> Any:
    def keep(line: int, question: str) -> bool:
        if index.match(question) is None:
            return True
        excluded.append(line)
        return False

    return keep


def _teacher_configs(traces: list[LoadedTrace]) -> list[dict[str, Any]]:
    """The distinct run configurations the traces were made with (models, game, loop), in first-seen order."""
    seen: dict[str, dict[str, Any]] = {}
    for loaded in traces:
        config = loaded.trace.config
        if config:
            seen.setdefault(json.dumps(config, sort_keys=True, default=str), config)
    return list(seen.values())


def read_manifest(data_dir: str | Path) -> ExportReport | None:
    """The manifest of a dataset folder, or ``None`` when it has none (a hand-made dataset)."""
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        return ExportReport.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not a dataset manifest written by `oyster export`: {exc}") from exc


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of one JSON Lines split file.

    Raises:
        InputError: a line that is not a JSON object (or not UTF-8, too deep, too long), with its number.
    """
    return [row for _, row in read_objects(path, expected="a JSON object (a row written by `oyster export`)")]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    _atomic_write(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# Deprecated: the row steps live in ``distill.split`` and ``distill.render``.
__getattr__ = moved_names(__name__, {"prompt_key": "oyster_agents.distill.split"})
