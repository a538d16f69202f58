"""Build the evaluation report from an output folder's rows: the document, its two renderings, the JSON
summaries, the plots, the per-item pages and the per-item traces."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from oyster_agents.eval.comparison import compare
from oyster_agents.eval.records import ITEMS_FILE, ItemRecord, Suite, read_records
from oyster_agents.eval.report import sections
from oyster_agents.eval.report.document import Document, Heading, Link, Para, to_html, to_markdown
from oyster_agents.eval.report.plots import PLOTS_DIR, make_plots
from oyster_agents.eval.scores import latest
from oyster_agents.eval.summaries import summarize

TRACES_DIR = "traces"
SUITE_SECTIONS = (
    (Suite.CONSTRUCTIVE, sections.constructive_section),
    (Suite.XSTEST, sections.xstest_section),
    (Suite.STRATA_SWORD, sections.strata_section),
    (Suite.GSM8K, sections.gsm8k_section),
)


def build_report(out_dir: str | Path, records: Sequence[ItemRecord] | None = None) -> Path:
    """Write ``report.md``, ``report.html``, ``summary.json`` and ``plots/*.png`` into ``out_dir``.

    Args:
        out_dir: the eval output folder.
        records: the rows to report; read from ``out_dir/items.jsonl`` when omitted.

    Returns:
        The path of ``report.md``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = latest(records if records is not None else read_records(out / ITEMS_FILE))
    summaries = summarize(rows)
    targets = list(summaries)
    comparisons = compare(rows)
    plots = make_plots(out / PLOTS_DIR, summaries, rows)
    traces = write_traces(out, rows)

    doc = Document(title="Evaluation report")
    doc.add(Para(f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} from {len(rows)} "
                 f"item rows ({ITEMS_FILE}). Per-item answers and verdicts, with the judge's explanations, "
                 f"are in {ITEMS_FILE}; all numbers are in summary.json."))
    if plots.note:
        doc.add(Para(plots.note))
    # Imported here: the view reads eval records, so importing it at the top would be circular.
    from oyster_agents.view import write_item_pages

    doc.add(Link(write_item_pages(out, rows), f"Every item, one page each ({len(rows)}): the query, the answer and "
                 "the judge's verdicts; for graph targets the game and the Lingo-BP iterates, drawn"))
    sections.targets_section(doc, rows, targets)
    sections.headline_section(doc, summaries, targets)
    if comparisons:
        sections.compare_section(doc, comparisons)
    for suite, section in SUITE_SECTIONS:
        by_target = {t: by[suite] for t, by in summaries.items() if suite in by}
        if by_target:
            section(doc, rows, by_target, plots)
    if traces:
        doc.add(Heading(1, "Per-item traces"), Para(
            f"The graph's full trace of each of its {traces} answers is in {TRACES_DIR}/TARGET/SUITE/ITEM.json "
            f"(a RunTrace), listed with its item in {TRACES_DIR}/index.json; items.jsonl holds the same traces."))
    sections.errors_section(doc, rows)

    (out / "summary.json").write_text(json.dumps(_summary_json(summaries), indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (out / "compare.json").write_text(
        json.dumps([c.model_dump(mode="json") for c in comparisons], indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")
    (out / "report.html").write_text(to_html(doc), encoding="utf-8")
    path = out / "report.md"
    path.write_text(to_markdown(doc), encoding="utf-8")
    return path


def write_traces(out: Path, rows: Sequence[ItemRecord]) -> int:
    """Write each row's graph trace to ``traces/TARGET/SUITE/ITEM.json`` and list them in ``traces/index.json``.

    Returns:
        How many traces were written (0 when no row has one; then no folder is made).
    """
    index = []
    for r in rows:
        if r.trace is None or r.error:
            continue
        rel = f"{TRACES_DIR}/{_file_name(r.target)}/{r.suite.value}/{_file_name(r.item.id)}.json"
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r.trace, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        index.append({"target": r.target, "suite": r.suite.value, "item": r.item.id, "path": rel,
                      "schema_version": r.trace.get("schema_version", "1.0")})
    if index:
        (out / TRACES_DIR / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
    return len(index)


def _summary_json(summaries: Mapping[str, Mapping[Suite, Any]]) -> dict[str, Any]:
    return {t: {s.value: v.model_dump(mode="json") for s, v in by.items()} for t, by in summaries.items()}


def _file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "_"
