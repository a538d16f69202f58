"""``run_batch``: run many queries through the graph into one resumable JSONL file of traces.

The output is the ledger: every finished query is one line (a trace, or an error record), appended
and fsynced as soon as it finishes. Rerunning with the same output skips the ids it holds, so a run
killed at any moment (even with SIGKILL) resumes without losing or repeating work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from oyster_agents.config import OysterConfig
from oyster_agents.errors import InputError
from oyster_agents.runner.engine import BatchAbortedError
from oyster_agents.runner.inputs import BatchItem, InputProblem, load_items
from oyster_agents.runner.jsonl import JsonlWriter, OutputScan, open_output
from oyster_agents.runner.options import BatchOptions
from oyster_agents.runner.pool import ProgressBar
from oyster_agents.runner.records import is_error

_log = logging.getLogger("oyster_agents.runner")
# A JSONL file of queries, or the query records themselves.
BatchInputs = str | Path | Iterable[Mapping[str, Any]]


class BatchSummary(BaseModel):
    """What a batch run did.

    Attributes:
        out: the output file.
        total: valid input records.
        skipped: records already in the output from an earlier run (not run again).
        ok: traces written by this run.
        failed: error records written by this run.
        bad_lines: input lines that could not be run, with their line numbers.
        dropped_tail_bytes: size of a torn last line (from a killed run) that was cut off.
        seconds: wall time of this run.
        interrupted: the run was stopped (Ctrl-C) before it finished.
        aborted: why the run stopped early (too many failures in a row), if it did.
    """

    out: str
    total: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    bad_lines: list[InputProblem] = Field(default_factory=list)
    dropped_tail_bytes: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    aborted: str | None = None

    @property
    def remaining(self) -> int:
        """Valid records not yet in the output."""
        return max(0, self.total - self.skipped - self.ok - self.failed)

    @property
    def complete(self) -> bool:
        """True when every valid record has a line in the output."""
        return self.remaining == 0 and not self.interrupted and self.aborted is None

    def describe(self) -> str:
        """One human-readable line."""
        ran = self.ok + self.failed
        rate = f"; {ran} queries in {self.seconds:.1f} s ({ran / self.seconds:.2f}/s)" if ran and self.seconds else ""
        parts = [f"{self.ok} ok", f"{self.failed} failed", f"{self.skipped} already done"]
        if self.bad_lines:
            parts.append(f"{len(self.bad_lines)} bad input lines")
        if self.remaining:
            parts.append(f"{self.remaining} left (rerun to resume)")
        state = "interrupted" if self.interrupted else "aborted" if self.aborted else "done"
        return f"{state}: " + ", ".join(parts) + rate + f" -> {self.out}"


class BatchPlan(BaseModel):
    """The items still to run and what the output already holds."""

    items: list[BatchItem]
    todo: list[BatchItem]
    problems: list[InputProblem]
    skipped: int
    dropped_tail_bytes: int

    def count_into(self, summary: BatchSummary) -> None:
        """Put the plan's counts (records, already done, bad lines, cut tail) into ``summary``."""
        summary.total, summary.skipped = len(self.items), self.skipped
        summary.bad_lines, summary.dropped_tail_bytes = self.problems, self.dropped_tail_bytes


def check_output(inputs: BatchInputs, out: str | Path) -> None:
    """Refuse an output file that is the input file.

    Raises:
        InputError: both name the same file.
    """
    if isinstance(inputs, (str, Path)) and Path(inputs).resolve() == Path(out).resolve():
        raise InputError("the output file must differ from the input file")


def plan_batch(
    inputs: BatchInputs,
    scan: OutputScan,
    *,
    config: OysterConfig,
    notify: Callable[[str], None],
    source_name: str | None = None,
) -> BatchPlan:
    """Read the input, report bad lines (as ``source_name:line``; by default the input's path), and leave
    out the ids the output already holds."""
    source_name = source_name or (str(inputs) if isinstance(inputs, (str, Path)) else "input")
    items, problems = load_items(inputs, max_query_chars=config.loop.max_query_chars)
    for problem in problems:
        notify(f"{source_name}:{problem.line}: skipped: {problem.reason}")
    if scan.dropped_tail_bytes:
        notify(f"dropped a partly written last line ({scan.dropped_tail_bytes} bytes) left by an interrupted run")
    for number in scan.bad_lines:
        notify(f"warning: output line {number} is not a record with an id; it is kept but ignored")
    todo = [item for item in items if item.id not in scan.status]
    skipped = len(items) - len(todo)
    return BatchPlan(
        items=items, todo=todo, problems=problems, skipped=skipped, dropped_tail_bytes=scan.dropped_tail_bytes
    )


class _WriterSink:
    def __init__(self, writer: JsonlWriter) -> None:
        self._writer = writer

    async def write(self, record: dict[str, Any]) -> None:
        # Inline on the loop thread: one fsync is short next to a model call, and it keeps lines whole.
        self._writer.write(record)


def build_graphs(
    config: OysterConfig, *, models: Mapping[str, BaseChatModel] | None = None, wrappers: list[Any] | None = None
) -> list[Any]:
    """One compiled graph per endpoint the configuration lists (just one with ``models`` given)."""
    from oyster_agents.graphs.constructive import build_graph
    from oyster_agents.runner.endpoints import config_for_endpoint, endpoint_count

    if models is not None:
        return [build_graph(config, models=models, wrappers=wrappers)]
    return [build_graph(config_for_endpoint(config, j), wrappers=wrappers) for j in range(endpoint_count(config))]


async def arun_batch(
    inputs: BatchInputs, out: str | Path, *, config: OysterConfig | None = None,
    models: Mapping[str, BaseChatModel] | None = None, wrappers: list[Any] | None = None,
    options: BatchOptions | None = None, **settings: Any,
) -> BatchSummary:
    """Async :func:`run_batch`, with the same arguments; on cancellation it closes the output cleanly
    and re-raises."""
    run = _BatchRun(inputs, out, config, models, wrappers, BatchOptions.build(options, **settings))
    return await run.execute(swallow_cancel=False)


def run_batch(
    inputs: BatchInputs,
    out: str | Path,
    *,
    config: OysterConfig | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    wrappers: list[Any] | None = None,
    options: BatchOptions | None = None,
    **settings: Any,
) -> BatchSummary:
    """Run every query of ``inputs`` through the graph and append one record per query to ``out``.

    Args:
        inputs: a JSONL file (one ``{"query", "id"?, "history"?, "profile"?}`` per line) or an
            iterable of such dicts.
        out: the output JSONL file. Ids it already holds are skipped, so rerunning resumes.
        config: the configuration (role models, loop budget); defaults to ``OysterConfig()``.
        models: role → chat model, instead of building them from ``config`` (e.g. test doubles).
        wrappers: call wrappers for every model call (tracing).
        options: the run's :class:`~oyster_agents.runner.BatchOptions` (concurrency, progress,
            retry_errors, max_consecutive_failures, check_servers, server_wait_s, fsync, notify).
        **settings: any of those fields as a keyword argument (``concurrency=16``); they win over
            ``options``.

    Returns:
        A :class:`BatchSummary`. Ctrl-C stops the run cleanly: what finished is on disk and the
        summary says ``interrupted``.

    Raises:
        InputError: the input cannot be read, ``out`` is locked by another run, or a setting is out of range.
        ConfigError: the configuration is unusable.
        BackendError: an endpoint does not answer (with ``check_servers``).
        TypeError: a keyword that is not a batch option.

    Example:
        >>> from oyster_agents import OysterConfig, run_batch
        >>> summary = run_batch("queries.jsonl", "traces.jsonl", config=OysterConfig(), concurrency=16)
        >>> print(summary.describe())
    """
    run = _BatchRun(inputs, out, config, models, wrappers, BatchOptions.build(options, **settings))
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no loop yet; asyncio.Runner turns Ctrl-C into cancellation
        with asyncio.Runner() as runner:
            return runner.run(run.execute(swallow_cancel=True))
    # Called from inside a running loop (a notebook): run on a private loop in a helper thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="oyster-batch-loop") as pool:
        return pool.submit(asyncio.run, run.execute(swallow_cancel=True)).result()


class _BatchRun:
    """One local batch run: its inputs, output and settings, executed once."""

    def __init__(
        self,
        inputs: BatchInputs,
        out: str | Path,
        config: OysterConfig | None,
        models: Mapping[str, BaseChatModel] | None,
        wrappers: list[Any] | None,
        options: BatchOptions,
    ) -> None:
        self.inputs, self.out = inputs, Path(out)
        self.config = config or OysterConfig()
        self.models, self.wrappers, self.options = models, wrappers, options

    async def execute(self, *, swallow_cancel: bool) -> BatchSummary:
        """Plan, check the servers, run what is left; Ctrl-C and aborts end in the summary."""
        from oyster_agents.runner.engine import run_pooled

        config, options, out = self.config, self.options, self.out
        say = options.notify or _log.warning
        check_output(self.inputs, out)
        started = time.perf_counter()
        writer, scan = open_output(out, fsync=options.fsync, retry_errors=options.retry_errors)
        summary = BatchSummary(out=str(out))
        bar: ProgressBar | None = None
        try:
            plan = plan_batch(self.inputs, scan, config=config, notify=say)
            plan.count_into(summary)
            if not plan.todo:
                return summary
            if options.check_servers and self.models is None:
                from oyster_agents.runner.endpoints import check_endpoints

                await asyncio.to_thread(check_endpoints, config, notify=say, wait_s=options.server_wait_s)
            graphs = build_graphs(config, models=self.models, wrappers=self.wrappers)
            note = f"{plan.skipped} of {len(plan.items)} already in {out}; running {len(plan.todo)}" if plan.skipped else ""
            bar = ProgressBar(len(plan.todo), desc="oyster batch", unit="query", enabled=options.progress, note=note)
            # Counted per record (not from the return value) so an interrupted run reports what it wrote.
            await run_pooled(plan.todo, graphs, _WriterSink(writer), config, options, on_record=_counting(summary, bar))
        except asyncio.CancelledError:
            summary.interrupted = True
            if not swallow_cancel:
                raise
        except BatchAbortedError as exc:
            summary.aborted = str(exc)
        finally:
            if bar is not None:
                bar.close()
            writer.close()
            summary.seconds = time.perf_counter() - started
        return summary


def _counting(summary: BatchSummary, bar: ProgressBar) -> Callable[[dict[str, Any]], None]:
    def on_record(record: dict[str, Any]) -> None:
        failed = is_error(record)
        summary.failed += failed
        summary.ok += not failed
        bar.advance(int(not failed), int(failed))

    return on_record


def exit_code(summary: BatchSummary) -> int:
    """The CLI exit code: 0 all done and fine, 1 some failed or bad lines, 130 interrupted, 3 aborted."""
    if summary.interrupted:
        return 130
    if summary.aborted:
        return 3
    return 1 if summary.failed or summary.bad_lines else 0

