"""Render entries into a static site: ``index.html`` (the list) and one page per query.

Every page is a Jinja2 template rendered with autoescaping on, so trace text (attacker-controlled
queries and answers) is always text, never markup. Each page carries a Content-Security-Policy that
allows only its own inline style and script, by hash: nothing injected could run even if it got through.
The site is a ``{relative path: bytes}`` mapping, written to disk by ``write_site`` or served from memory.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from oyster_agents.schemas import RUBRIC_ITEMS, Fallback, Iterate, RunTrace
from oyster_agents.view import charts
from oyster_agents.view.diff import ChainDiff, chain_diff
from oyster_agents.view.game import USER_TYPES, game_view
from oyster_agents.view.load import Entry

INDEX = "index.html"
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{16,64}$")
_SCRIPT_FREE = "default-src 'none'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
KIND_NAMES = {"refusal_with_guidance": "refusal + guidance", "partial_help": "partial help",
              "full_help_with_safety_framing": "full help, framed", "misconception_correction": "correction"}
HEADLINE_BETA = 2.0  # the β an eval row's score is shown at when the row has no trace


@dataclass
class SiteOptions:
    """How the site links outward.

    Attributes:
        title: the list page's title.
        back_link: a relative link shown on the list page (the evaluation report), or None.
        back_label: its text.
        trace_url: a URL template with ``{trace_id}`` (e.g. a Jaeger or Tempo UI) to link trace ids to.
    """

    title: str = "oyster traces"
    back_link: str | None = None
    back_label: str = "Back"
    trace_url: str | None = None


@dataclass
class Summary:
    """One row of the list page."""

    entry: Entry
    page: str
    level: str
    category: str
    verdict: str
    score: float | None
    fallbacks: int
    iterates: int
    status: str
    search: str = field(default="")


def page_name(entry: Entry) -> str:
    """The file name of an entry's page."""
    return f"q{entry.key}.html"


def build_site(entries: Sequence[Entry], options: SiteOptions | None = None) -> dict[str, bytes]:
    """Render the list page and one page per entry.

    Returns:
        relative path → file content.
    """
    opts = options or SiteOptions()
    env = _environment()
    style = env.get_template("style.css.j2").render()
    script = env.get_template("list.js.j2").render()
    summaries = [summarize(e) for e in entries]
    site: dict[str, bytes] = {}
    for summary in summaries:
        context = item_context(summary.entry, opts)
        html = env.get_template("item.html.j2").render(
            summary=summary, style=Markup(style), csp=_csp(style, None), index=INDEX, **context)
        site[summary.page] = html.encode("utf-8")
    facets = {name: sorted({getattr(s, name) for s in summaries if getattr(s, name)})
              for name in ("level", "category", "verdict")}
    site[INDEX] = env.get_template("index.html.j2").render(
        summaries=summaries, facets=facets, options=opts, style=Markup(style), script=Markup(script),
        csp=_csp(style, script), has_eval=any(s.entry.record for s in summaries),
    ).encode("utf-8")
    return site


def write_site(site: dict[str, bytes], out_dir: str | Path) -> Path:
    """Write a built site into ``out_dir``; returns the path of its list page."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in site.items():
        (out / name).write_bytes(data)
    return out / INDEX


def write_item_pages(out_dir: str | Path, records: Sequence[Any], *, folder: str = "items",
                     report: str = "report.html") -> str:
    """Write one page per eval row (and their list) into ``out_dir/folder``, linking back to the report.

    Args:
        out_dir: the evaluation output folder.
        records: the ``ItemRecord`` rows the report covers.
        folder: the sub-folder for the pages.
        report: the report's file name, for the back link.

    Returns:
        The list page's path relative to ``out_dir``.
    """
    from oyster_agents.view.load import entries_from_records

    options = SiteOptions(title="Evaluation items", back_link=f"../{report}", back_label="evaluation report")
    write_site(build_site(entries_from_records(records), options), Path(out_dir) / folder)
    return f"{folder}/{INDEX}"


def summarize(entry: Entry) -> Summary:
    """The list page's numbers for one entry."""
    trace, record = entry.trace, entry.record
    best = trace.best if trace and trace.iterates else None
    level = trace.assessment.level.value if trace else (record.item.level or "" if record else "")
    category = trace.assessment.category if trace else (
        (record.item.category or record.item.risk_type or "") if record else "")
    verdict, score = "", None
    if record is not None and record.verdicts.safety is not None:
        verdict = record.verdicts.safety.verdict.value
        if record.verdicts.satisfaction is not None:
            score = record.verdicts.satisfaction.score - HEADLINE_BETA * (1.0 - record.verdicts.safety.score)
    elif record is not None and record.verdicts.refusal is not None:
        verdict = record.verdicts.refusal.label.value
    elif best is not None:
        verdict = best.safety.verdict.value
    if best is not None and score is None:
        score = best.constructive_score
    status = "error" if entry.error else "ok"
    summary = Summary(entry=entry, page=page_name(entry), level=level, category=category, verdict=verdict or "-",
                      score=score, fallbacks=len(trace.fallbacks) if trace else 0,
                      iterates=len(trace.iterates) if trace else 0, status=status)
    summary.search = " ".join([entry.label, entry.query, trace.answer if trace else (record.answer if record else "")]).lower()
    return summary


@dataclass
class IterateCard:
    """One Lingo-BP iterate with its chain compared to the previous one."""

    iterate: Iterate
    position: int
    diff: ChainDiff
    returned: bool
    compared_with: int | None
    origin: str
    rubric: list[tuple[str, int]]
    reactions: list[Any]
    notes: list[Fallback]


def item_context(entry: Entry, options: SiteOptions) -> dict[str, Any]:
    """Everything the query page draws for one entry."""
    trace = entry.trace
    ctx: dict[str, Any] = {"entry": entry, "trace": trace, "record": entry.record, "user_types": USER_TYPES,
                           "type_colours": charts.TYPE_COLOURS, "options": options}
    if trace is None:
        return ctx
    game = game_view(trace)
    ctx.update(
        game=game,
        heat_scale=charts.heat_scale(game),
        plane=charts.plane(game, trace.iterates, trace.best_iterate) if game.rows else None,
        sweep=charts.sweep_strip(game) if game.sweep else None,
        posterior=charts.posterior_bar(game.posterior),
        scores=charts.score_chart(trace.iterates, trace.best_iterate) if trace.iterates else None,
        cards=iterate_cards(trace),
        reviser_notes=_reviser_notes(trace),
        selection_reason=trace.selection_reason or (
            "Not recorded in this trace. The loop that wrote it returns the iterate the safety critic judged "
            "safest, then the one with the highest constructive score, the earliest on a tie."),
        selection_recorded=bool(trace.selection_reason),
        usage=_usage_rows(trace),
        trace_link=_trace_link(trace, options),
        schema_old=trace.schema_version == "1.0",
        origins=origins_recorded(trace),
    )
    return ctx


def iterate_cards(trace: RunTrace) -> list[IterateCard]:
    """The iterates side by side, each compared with the one before it."""
    notes = _reviser_notes(trace)
    revised = [n for n, it in enumerate(trace.iterates) if _is_revision(trace, n)]
    cards = []
    for n, it in enumerate(trace.iterates):
        previous = trace.iterates[n - 1].chain if n > 0 else None
        reactions = sorted(it.game.reactions, key=lambda r: USER_TYPES.index(r.user_type.value)) if it.game else []
        cards.append(IterateCard(
            iterate=it, position=n, diff=chain_diff(previous, it.chain), returned=n == trace.best_iterate,
            compared_with=trace.iterates[n - 1].step if n > 0 else None,
            origin=origin_label(trace, n),
            rubric=[(name, getattr(it.satisfaction.scores, name)) for name in RUBRIC_ITEMS],
            reactions=reactions,
            # Fallbacks carry no step: reviser notes are pinned to a step only when one revision happened.
            notes=notes if revised == [n] else [],
        ))
    return cards


def origins_recorded(trace: RunTrace) -> bool:
    """Whether the iterates' ``origin`` was filled in: a 1.0 trace has none, and a writer that left every
    iterate at the default "guided" did not record it either (a recorded loop starts unguided or revises)."""
    if trace.schema_version == "1.0":
        return False
    return len(trace.iterates) <= 1 or any(it.origin != "guided" for it in trace.iterates)


def origin_label(trace: RunTrace, position: int) -> str:
    """The iterate's origin, or what it must be when the trace does not record it."""
    if origins_recorded(trace):
        return trace.iterates[position].origin
    return "first" if position == 0 else "revised"


def _is_revision(trace: RunTrace, position: int) -> bool:
    return origin_label(trace, position) == "revised"


def _reviser_notes(trace: RunTrace) -> list[Fallback]:
    return [f for f in trace.fallbacks if f.role == "reviser" and f.kind in ("trust_region", "authority")]


def _usage_rows(trace: RunTrace) -> dict[str, Any]:
    per = trace.usage.per_role
    seconds = charts.usage_bars({k: v.seconds for k, v in per.items()})
    tokens = charts.usage_bars({k: float(v.input_tokens + v.output_tokens) for k, v in per.items()})
    fallbacks: dict[str, int] = {}
    for f in trace.fallbacks:
        fallbacks[f.role] = fallbacks.get(f.role, 0) + 1
    rows = [{"role": k, "u": v, "seconds_w": seconds[k], "tokens_w": tokens[k], "fallbacks": fallbacks.get(k, 0)}
            for k, v in sorted(per.items(), key=lambda kv: -kv[1].seconds)]
    return {"rows": rows, "total": trace.usage.total, "wall": trace.usage.wall_seconds}


def _trace_link(trace: RunTrace, options: SiteOptions) -> str | None:
    if not options.trace_url or not trace.trace_id or not _TRACE_ID.match(trace.trace_id):
        return None
    return options.trace_url.replace("{trace_id}", trace.trace_id)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("oyster_agents.view", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(heat_colour=charts.heat_colour, ink_for=charts.ink_for,
                       candidate_colour=charts.candidate_colour, kind_names=KIND_NAMES)
    env.filters["num"] = _num
    env.filters["clip"] = _clip
    env.filters["signed"] = signed
    return env


def signed(value: float | None) -> str:
    """A number with its sign, two decimals ("0.00" for anything that rounds to zero)."""
    if value is None:
        return "-"
    return "0.00" if round(value, 2) == 0 else f"{value:+.2f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _clip(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _csp(style: str, script: str | None) -> str:
    parts = [_SCRIPT_FREE, f"style-src '{_sha256(style)}'"]
    parts.append(f"script-src '{_sha256(script)}'" if script is not None else "script-src 'none'")
    return "; ".join(parts)


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
