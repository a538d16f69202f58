"""The evaluation report: ``report.md``, ``report.html``, ``summary.json``, ``compare.json``, PNG plots
and ``traces/``, from ``items.jsonl``.

The report is rebuilt from every row in the output folder, so resumed runs, several suites and
several targets written to one folder all land in one side-by-side report. Every headline number
carries a 95 % bootstrap interval (``eval.stats``), drawn as error bars in the plots; with two or
more targets, paired differences against the first target are reported too. Each graph answer's
trace is written to ``traces/TARGET/SUITE/ITEM.json`` (listed in ``traces/index.json``) so that
per-item pages can be rendered from the folder. Plots use matplotlib's Agg backend (the ``eval``
extra); without matplotlib the report is written without them and says so.

Modules: :mod:`~oyster_agents.eval.report.build` (the folder's files), ``document`` (the document model
and its Jinja2 renderings), ``sections``, ``plots``.
"""

from __future__ import annotations

from oyster_agents._moved import moved_names
from oyster_agents.eval.report import plots
from oyster_agents.eval.report.build import TRACES_DIR, build_report, write_traces
from oyster_agents.eval.report.document import Document, Heading, Image, Link, Para, Table, to_html, to_markdown
from oyster_agents.eval.report.plots import PLOTS_DIR

__all__ = [
    "PLOTS_DIR",
    "TRACES_DIR",
    "Document",
    "Heading",
    "Image",
    "Link",
    "Para",
    "Table",
    "build_report",
    "to_html",
    "to_markdown",
    "write_traces",
]

__getattr__ = moved_names(__name__, {"Interval": plots})
