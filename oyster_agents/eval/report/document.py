"""A tiny document model for the evaluation report, rendered to Markdown and to HTML by Jinja2 templates.

The templates (``templates/report.md.j2``, ``templates/report.html.j2``) ship with the package. HTML
autoescaping is on, so item text (queries, answers, judge explanations) is always text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@dataclass
class Heading:
    """A section title."""

    level: int
    text: str


@dataclass
class Para:
    """A paragraph of plain text."""

    text: str


@dataclass
class Table:
    """A table of plain-text cells."""

    headers: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    """A plot, by its path relative to the report."""

    path: str
    alt: str


@dataclass
class Link:
    """A link to another page, by its path relative to the report."""

    path: str
    text: str


Block = Heading | Para | Table | Image | Link


@dataclass
class Document:
    """An ordered list of blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)


def to_markdown(doc: Document) -> str:
    """Render a document as GitHub-flavoured Markdown."""
    return _environment().get_template("report.md.j2").render(doc=doc).rstrip() + "\n"


def to_html(doc: Document) -> str:
    """Render a document as one self-contained HTML page (plots linked by relative path)."""
    return _environment().get_template("report.html.j2").render(doc=doc)


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("oyster_agents.eval.report", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md_cell"] = _md_cell
    env.tests.update({cls.__name__.lower(): _is(cls) for cls in (Heading, Para, Table, Image, Link)})
    return env


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _is(cls: type) -> Callable[[object], bool]:
    return lambda block: isinstance(block, cls)
