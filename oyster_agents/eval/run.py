"""Run suites against targets: answer, judge, append one JSONL row per item, resume, then report.

Rows go to ``OUT/items.jsonl`` through the batch command's crash-safe writer (one write per line,
fsynced, one writer at a time), so an interrupted run loses at most the items in flight; a rerun
with the same arguments cuts off a torn last line, skips every (target, suite, item) that already
has a row without an error, and retries the rest. A target or judge failure becomes an error row
and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from oyster_agents.backends import ModelPool
from oyster_agents.config import OysterConfig
from oyster_agents.errors import InputError
from oyster_agents.eval.judge import Judge, make_judge
from oyster_agents.eval.gsm8k import score_answer
from oyster_agents.eval.records import ITEMS_FILE, EvalItem, ItemRecord, Protocol, Suite, Verdicts, read_records
from oyster_agents.eval.report import build_report
from oyster_agents.eval.rules import RuleSet
from oyster_agents.eval.targets import Target, TargetSpec, make_target
from oyster_agents.runner import JsonlWriter, scan_output


@dataclass
class EvalRun:
    """What one ``run_eval`` call did."""

    out_dir: Path
    written: int = 0
    skipped: int = 0
    errors: int = 0
    seconds: float = 0.0
    per_target_seconds: dict[str, float] = field(default_factory=dict)
    report: Path | None = None


def run_eval(
    suites: Mapping[Suite, Sequence[EvalItem]],
    targets: Sequence[TargetSpec],
    out_dir: str | Path,
    *,
    config: OysterConfig,
    judge_config: OysterConfig | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    judge_models: Mapping[str, BaseChatModel] | None = None,
    concurrency: int = 4,
    progress: bool = True,
    report: bool = True,
    rules: RuleSet | None = None,
) -> EvalRun:
    """Evaluate every target on every suite's items, then write the report.

    Args:
        suites: suite → items (already limited).
        targets: what to evaluate, side by side; labels must be distinct.
        out_dir: where ``items.jsonl``, ``report.md``, ``report.html`` and ``plots/`` go.
        config: the run's configuration (graph target, and model targets' decoding settings).
        judge_config: the judge's configuration; defaults to ``config``.
        models: role → chat model for the graph target (e.g. scripted fakes).
        judge_models: role → chat model for the judge (e.g. scripted fakes).
        rules: a benchmark rule set; given, Strata-Sword is judged by the paper protocol
            (``Protocol.PAPER``), else by the project's (``Protocol.PROJECT``).
        concurrency: items answered at once per target (local models batch concurrent calls).
        progress: show a tqdm bar per target.
        report: write the report at the end.

    Raises:
        InputError: duplicate target labels, an unreadable existing ``items.jsonl``, or one whose
            Strata-Sword rows were judged under the other protocol.
    """
    labels = [t.label for t in targets]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise InputError(f"several targets are labelled {dupes}; name them with LABEL=TARGET")
    out = Path(out_dir)
    path = out / ITEMS_FILE
    run = EvalRun(out_dir=out)
    pool = ModelPool()
    judge: Judge | MatchOnlyJudge | None = None
    started = time.perf_counter()
    with JsonlWriter(path) as writer:
        scan_output(path, repair=True)  # a killed run may have left half a line at the end
        existing = read_records(path)
        if Suite.STRATA_SWORD in suites:
            _check_protocol(existing, Protocol.PAPER if rules is not None else Protocol.PROJECT, path)
        done = {r.key for r in existing if not r.error}
        for spec in targets:
            todo = [(s, item) for s, items in suites.items() for item in items
                    if (spec.label, s.value, item.id) not in done]
            run.skipped += sum(len(items) for items in suites.values()) - len(todo)
            if not todo:
                continue
            t0 = time.perf_counter()
            if judge is None:
                judge = (make_judge(judge_config or config, models=judge_models, pool=pool, rules=rules)
                         if any(s is not Suite.GSM8K for s in suites) else MatchOnlyJudge())
            target = make_target(spec, config, pool=pool, models=models)
            written, errors = _run_target(target, spec, judge, todo, writer, concurrency, progress)
            run.written += written
            run.errors += errors
            run.per_target_seconds[spec.label] = time.perf_counter() - t0
    run.seconds = time.perf_counter() - started
    if report:
        run.report = build_report(out)
    return run


class MatchOnlyJudge:
    """The judge of a run whose suites need no model (GSM8K): exact match only, nothing loaded."""

    def judge(self, item: EvalItem, answer: str) -> Verdicts:
        """Score a GSM8K answer."""
        if item.suite is not Suite.GSM8K:
            raise InputError(f"suite {item.suite.value} needs a model judge")
        return score_answer(item, answer)


def _check_protocol(records: list[ItemRecord], protocol: Protocol, path: Path) -> None:
    # Rows written before protocols were recorded were judged under the project's.
    other = {r.verdicts.protocol or Protocol.PROJECT for r in records
             if r.suite is Suite.STRATA_SWORD and not r.error} - {protocol}
    if other:
        raise InputError(
            f"{path} already holds Strata-Sword rows judged under the {sorted(p.value for p in other)[0]} protocol; "
            f"to judge under the {protocol.value} protocol use a fresh --out folder"
        )


def _run_target(
    target: Target,
    spec: TargetSpec,
    judge: Judge | MatchOnlyJudge,
    todo: list[tuple[Suite, EvalItem]],
    writer: JsonlWriter,
    concurrency: int,
    progress: bool,
) -> tuple[int, int]:
    from oyster_agents.runner.pool import ProgressBar, worker_threads

    with (
        ProgressBar(len(todo), desc=f"eval {spec.label}", unit="item", enabled=progress, mininterval=1.0) as bar,
        worker_threads(concurrency, "oyster-eval") as executor,
    ):
        futures: list[Future[ItemRecord]] = [
            executor.submit(evaluate_item, target, spec, judge, suite, item) for suite, item in todo
        ]
        for future in as_completed(futures):
            record = future.result()
            writer.write(record.model_dump(mode="json"))
            failed = record.error is not None
            bar.advance(int(not failed), int(failed))
    return bar.ok + bar.failed, bar.failed


def evaluate_item(target: Target, spec: TargetSpec, judge: Judge | MatchOnlyJudge, suite: Suite, item: EvalItem) -> ItemRecord:
    """Answer and judge one item; any failure becomes an error row instead of an exception."""
    from oyster_agents.config import mask_url_credentials

    # The --target text may carry a URL with user name and password; the record keeps it masked.
    record = ItemRecord(target=spec.label, target_spec=mask_url_credentials(spec.spec), suite=suite, item=item)
    t0 = time.perf_counter()
    try:
        reply = target.answer(item)
    except Exception as exc:  # one bad item must not end a long run
        record.error = f"target: {type(exc).__name__}: {exc}"[:2000]
        record.seconds = time.perf_counter() - t0
        return record
    record.seconds = time.perf_counter() - t0
    record.answer, record.reasoning, record.trace = reply.answer, reply.reasoning, reply.trace
    t1 = time.perf_counter()
    try:
        record.verdicts = judge.judge(item, reply.answer)
    except Exception as exc:
        record.error = f"judge: {type(exc).__name__}: {exc}"[:2000]
    record.judge_seconds = time.perf_counter() - t1
    return record

