"""The dataset card (``README.md`` in the dataset folder, Hugging Face card format): YAML metadata,
then what the rows are, where they came from, what was filtered out and how they were made.

Every count in the card is computed from the rows written (their ``lineage``) or from the export
report, so the card cannot drift from the data.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oyster_agents.distill.dataset import ExportReport

_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def dataset_card(report: "ExportReport", splits: dict[str, list[dict[str, Any]]]) -> str:
    """The card's Markdown for an export: front matter, then sections."""
    import yaml

    names = [name for name in ("train", "test") if splits.get(name)]
    total = sum(len(splits[name]) for name in names)
    meta = {
        "pretty_name": f"oyster-agents {report.kind} distillation data",
        "language": ["en"],
        "license": "other",
        "task_categories": ["text-generation"],
        "tags": ["safety", "constructive-safety", "distillation", report.kind],
        "size_categories": [next((label for limit, label in _SIZES if total < limit), "n>1M")],
        "configs": [{
            "config_name": "default",
            "data_files": [{"split": name, "path": report.files[name]} for name in names],
        }],
    }
    parts = [
        "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---",
        f"# oyster-agents {report.kind} distillation data",
        _summary(report, splits, names, total),
        _sources(report),
        _counts(splits, names),
        _filters(report),
        _mix(report),
        _generation(report),
        _format(report),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _summary(report: "ExportReport", splits: dict[str, list[dict[str, Any]]], names: list[str], total: int) -> str:
    what = (
        "chat rows (`messages`): the prompt, then the answer the constructive-safety graph returned"
        if report.kind == "sft"
        else "preference pairs (`prompt`/`chosen`/`rejected`, with `rejected_reason`): the returned answer against worse "
        "answers the same run produced"
    )
    sizes = ", ".join(f"{name} {len(splits[name])}" for name in names)
    reasoning = report.options.get("reasoning", "think")
    source = report.options.get("reasoning_from", "template")
    if reasoning == "think":
        how = f"first-person reasoning in `<think>`, {'written by a model from the run' if source == 'model' else 'filled from a template'}"
    elif reasoning == "chain":
        how = "the explicit reasoning chain (need, risk, boundary, strategies) in `<think>`"
    else:
        how = "no reasoning block"
    rendered = " Rows are rendered to text with a chat template." if report.rendered else ""
    return (
        "## Dataset summary\n\n"
        f"{total} rows ({sizes}) of {what}; the assistant turns carry {how}.{rendered} "
        "Every row has a `lineage` record tying it to its trace (file and line, ids, scores)."
    )


def _sources(report: "ExportReport") -> str:
    lines = ["## Sources", "", "| source | rows used |", "|---|---|"]
    lines.append(f"| run traces: {', '.join(f'`{s}`' for s in report.sources)} | {report.stats.used} of {report.stats.traces} traces |")
    for mix in report.mix:
        lines.append(f"| general data `{mix.path}` | {mix.rows} |")
    return "\n".join(lines)


def _counts(splits: dict[str, list[dict[str, Any]]], names: list[str]) -> str:
    out = ["## Counts"]
    for key, title in (("category", "category"), ("level", "level"), ("verdict", "verdict")):
        per_split = {name: Counter(_label(row, key) for row in splits[name]) for name in names}
        labels = sorted(set().union(*per_split.values()))
        table = [f"| {title} | " + " | ".join(names) + " | total |", "|---|" + "---|" * (len(names) + 1)]
        for label in labels:
            values = [per_split[name][label] for name in names]
            table.append(f"| {label} | " + " | ".join(str(v) for v in values) + f" | {sum(values)} |")
        out.append(f"### By {title}\n\n" + "\n".join(table))
    return "\n\n".join(out)


def _label(row: dict[str, Any], key: str) -> str:
    lineage = row.get("lineage", {})
    if lineage.get("mix"):
        return "general (mix)" if key == "category" else "-"
    return str(lineage.get(key) or "-")


def _filters(report: "ExportReport") -> str:
    s, c = report.stats, report.contamination
    rows = [
        ("traces made with a user profile, left out (`--profile exclude`)", s.profile_excluded),
        ("traces whose answer or judgments were fallback values", s.fallback),
        ("traces whose returned answer is below the score thresholds", s.below_threshold),
        ("traces with an empty answer", s.empty_answer),
        ("traces without a worse answer to pair with", s.no_pair),
        ("rows dropped: the trained answer reproduces rule text", s.leak_dropped),
        ("targets rewritten: rule-text sentences removed from the reasoning", s.leak_rewritten),
        ("rule-text sentences removed", s.leak_sentences),
        ("duplicate rows dropped", report.duplicates),
        ("rows whose query is an evaluation prompt, dropped", c.dropped),
        ("general records left out of the mix draw as evaluation prompts", c.mix_excluded),
        ("unreadable or invalid trace records skipped", len(report.problems)),
    ]
    lines = ["## Filters", "", "| filter | count |", "|---|---|"] + [f"| {what} | {n} |" for what, n in rows]
    checked = ", ".join(f"{suite} ({n} prompts)" for suite, n in sorted(c.checked.items())) or "none"
    lines += ["", f"Contamination check against: {checked}."]
    if c.matches:
        lines.append("Matches per suite: " + ", ".join(f"{k} {v}" for k, v in sorted(c.matches.items())) + ".")
    for suite, why in sorted(c.not_checked.items()):
        lines.append(f"Not checked against {suite}: {why}.")
    return "\n".join(lines)


def _mix(report: "ExportReport") -> str:
    if not report.mix:
        return "## Mix\n\nNo general data mixed in."
    lines = ["## Mix", "", "| file | share | rows | seed |", "|---|---|---|---|"]
    lines += [f"| `{m.path}` | {m.share:g} | {m.rows} | {m.seed} |" for m in report.mix]
    return "\n".join(lines)


def _generation(report: "ExportReport") -> str:
    import json

    options = {k: v for k, v in report.options.items() if k not in ("leaks",) and v not in (None, [], {})}
    s = report.stats
    lines = ["## Generation", ""]
    if report.writer_model:
        lines.append(
            f"Reasoning writer model: `{report.writer_model}` ({s.reasoning_written} written, "
            f"{s.reasoning_fallback} fell back to the template)."
        )
    models = sorted({str(m) for config in report.teacher_configs for m in _models(config)})
    lines.append(f"Teacher models: {', '.join(f'`{m}`' for m in models) if models else 'not recorded in the traces'}.")
    lines += ["", "Export options:", "", "```json", json.dumps(options, indent=2, sort_keys=True, default=str), "```"]
    if report.teacher_configs:
        lines += ["", f"Teacher run configurations ({len(report.teacher_configs)} distinct):", "", "```json",
                  json.dumps(report.teacher_configs[:3], indent=2, sort_keys=True, default=str), "```"]
    return "\n".join(lines)


def _models(config: dict[str, Any]) -> list[str]:
    found = config.get("models") or {}
    if isinstance(found, dict):
        return [str(v) for v in found.values()]
    return [str(v) for v in found] if isinstance(found, list) else [str(found)]


def _format(report: "ExportReport") -> str:
    if report.kind == "sft":
        body = "`messages` (system, earlier turns, user, assistant) and `lineage`."
    else:
        body = "`prompt`, `chosen`, `rejected`, `rejected_reason` (why the rejected answer lost) and `lineage`."
    return (
        "## Row format\n\n" + body + " Load with `datasets.load_dataset(folder)`; TRL trains on the rows as they are.\n\n"
        "## Intended use\n\nDistilling a constructive-safety assistant. The queries were checked against the "
        "evaluation prompts listed above (and only those), so a student trained here can be evaluated on those suites."
    )
