"""``run_batch``: run many queries through the graph into one resumable JSONL file of traces.

The output is the ledger: every finished query is one line (a trace, or an error record), appended
and fsynced as soon as it finishes. Rerunning with the same output skips the ids it holds, so a run
killed at any moment (even with SIGKILL) resumes without losing or repeating work.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from oyster_agents.config import OysterConfig
from oyster_agents.errors import InputError
from oyster_agents.runner.engine import BatchAbortedError, default_executor, run_items, threads_needed
from oyster_agents.runner.inputs import BatchItem, InputProblem, load_items
from oyster_agents.runner.jsonl import JsonlWriter, OutputScan, open_output
from oyster_agents.runner.records import is_error

_log = logging.getLogger("oyster_agents.runner")


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


def plan_batch(
    inputs: str | Path | Iterable[Mapping[str, Any]],
    scan: OutputScan,
    *,
    config: OysterConfig,
    notify: Callable[[str], None],
    source_name: str = "input",
) -> BatchPlan:
    """Read the input, report bad lines, and leave out the ids the output already holds."""
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


class Progress:
    """A tqdm bar on stderr: done / total, ok and failed counts, rate and ETA (or nothing)."""

    def __init__(self, total: int, *, enabled: bool, initial_note: str = "") -> None:
        self.ok = 0
        self.failed = 0
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, unit="query", desc="oyster batch", file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5, smoothing=0.1,
            )
            if initial_note:
                self._bar.write(initial_note, file=sys.stderr)
            self._bar.set_postfix_str("ok=0 failed=0")

    def record(self, record: Mapping[str, Any]) -> None:
        """Count one finished record."""
        self.advance(0 if is_error(record) else 1, 1 if is_error(record) else 0)

    def advance(self, ok: int, failed: int) -> None:
        """Add finished counts."""
        self.ok += ok
        self.failed += failed
        if self._bar is not None and (ok or failed):
            self._bar.set_postfix_str(f"ok={self.ok} failed={self.failed}", refresh=False)
            self._bar.update(ok + failed)

    def close(self) -> None:
        """Draw the final state and release the line."""
        if self._bar is not None:
            self._bar.close()


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
    inputs: str | Path | Iterable[Mapping[str, Any]],
    out: str | Path,
    *,
    config: OysterConfig | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    wrappers: list[Any] | None = None,
    concurrency: int = 8,
    progress: bool = False,
    retry_errors: bool = False,
    max_consecutive_failures: int | None = 20,
    check_servers: bool = True,
    server_wait_s: float | None = None,
    fsync: bool = True,
    notify: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Async :func:`run_batch`; on cancellation it closes the output cleanly and re-raises."""
    return await _execute(
        inputs, out, config=config, models=models, wrappers=wrappers, concurrency=concurrency,
        progress=progress, retry_errors=retry_errors, max_consecutive_failures=max_consecutive_failures,
        check_servers=check_servers, server_wait_s=server_wait_s, fsync=fsync, notify=notify, swallow_cancel=False,
    )


def run_batch(
    inputs: str | Path | Iterable[Mapping[str, Any]],
    out: str | Path,
    *,
    config: OysterConfig | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    wrappers: list[Any] | None = None,
    concurrency: int = 8,
    progress: bool = False,
    retry_errors: bool = False,
    max_consecutive_failures: int | None = 20,
    check_servers: bool = True,
    server_wait_s: float | None = None,
    fsync: bool = True,
    notify: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Run every query of ``inputs`` through the graph and append one record per query to ``out``.

    Args:
        inputs: a JSONL file (one ``{"query", "id"?, "history"?, "profile"?}`` per line) or an
            iterable of such dicts.
        out: the output JSONL file. Ids it already holds are skipped, so rerunning resumes.
        config: the configuration (role models, loop budget); defaults to ``OysterConfig()``.
        models: role → chat model, instead of building them from ``config`` (e.g. test doubles).
        wrappers: call wrappers for every model call (tracing).
        concurrency: queries in flight at once; each fans out into parallel model calls.
        progress: show a progress bar on stderr.
        retry_errors: run the ids whose record in ``out`` is an error record again (replacing it).
        max_consecutive_failures: stop after this many failed queries in a row (None: never).
        check_servers: check that OpenAI-compatible endpoints answer before starting.
        server_wait_s: keep retrying that check this long (a server still loading its model).
        fsync: make each record durable before the next (turn off only for throwaway runs).
        notify: receives notices (bad input lines, repaired output); defaults to logging.

    Returns:
        A :class:`BatchSummary`. Ctrl-C stops the run cleanly: what finished is on disk and the
        summary says ``interrupted``.

    Raises:
        InputError: the input cannot be read, or ``out`` is locked by another run.
        ConfigError: the configuration is unusable.
        BackendError: an endpoint does not answer (with ``check_servers``).

    Example:
        >>> from oyster_agents import OysterConfig, run_batch
        >>> summary = run_batch("queries.jsonl", "traces.jsonl", config=OysterConfig(), concurrency=16)
        >>> print(summary.describe())
    """
    kwargs = dict(
        config=config, models=models, wrappers=wrappers, concurrency=concurrency, progress=progress,
        retry_errors=retry_errors, max_consecutive_failures=max_consecutive_failures,
        check_servers=check_servers, server_wait_s=server_wait_s, fsync=fsync, notify=notify, swallow_cancel=True,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no loop yet; asyncio.Runner turns Ctrl-C into cancellation
        with asyncio.Runner() as runner:
            return runner.run(_execute(inputs, out, **kwargs))
    # Called from inside a running loop (a notebook): run on a private loop in a helper thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="oyster-batch-loop") as pool:
        return pool.submit(asyncio.run, _execute(inputs, out, **kwargs)).result()


async def _execute(
    inputs: str | Path | Iterable[Mapping[str, Any]],
    out: str | Path,
    *,
    config: OysterConfig | None,
    models: Mapping[str, BaseChatModel] | None,
    wrappers: list[Any] | None,
    concurrency: int,
    progress: bool,
    retry_errors: bool,
    max_consecutive_failures: int | None,
    check_servers: bool,
    server_wait_s: float | None,
    fsync: bool,
    notify: Callable[[str], None] | None,
    swallow_cancel: bool,
) -> BatchSummary:
    from oyster_agents.graphs.constructive import recursion_limit

    import math

    config = config or OysterConfig()
    say = notify or _log.warning
    out = Path(out)
    if max_consecutive_failures is not None and max_consecutive_failures < 0:
        raise InputError(f"max_consecutive_failures must be 0 or more (0 or None: never stop), got {max_consecutive_failures}")
    if server_wait_s is not None and not (math.isfinite(server_wait_s) and server_wait_s >= 0):
        raise InputError(f"server_wait_s must be a finite number of seconds, 0 or more, got {server_wait_s}")
    if concurrency < 1:
        raise InputError(f"concurrency must be at least 1, got {concurrency}")
    if isinstance(inputs, (str, Path)) and Path(inputs).resolve() == out.resolve():
        raise InputError("the output file must differ from the input file")
    started = time.perf_counter()
    writer, scan = open_output(out, fsync=fsync, retry_errors=retry_errors)
    summary = BatchSummary(out=str(out))
    bar: Progress | None = None
    try:
        source_name = str(inputs) if isinstance(inputs, (str, Path)) else "input"
        plan = plan_batch(inputs, scan, config=config, notify=say, source_name=source_name)
        summary.total, summary.skipped = len(plan.items), plan.skipped
        summary.bad_lines, summary.dropped_tail_bytes = plan.problems, plan.dropped_tail_bytes
        if not plan.todo:
            return summary
        if check_servers and models is None:
            from oyster_agents.runner.endpoints import check_endpoints

            await asyncio.to_thread(check_endpoints, config, notify=say, wait_s=server_wait_s)
        graphs = build_graphs(config, models=models, wrappers=wrappers)
        note = f"{plan.skipped} of {len(plan.items)} already in {out}; running {len(plan.todo)}" if plan.skipped else ""
        bar = Progress(len(plan.todo), enabled=progress, initial_note=note)
        async with default_executor(threads_needed(concurrency, config.loop.candidates)):
            # Counted per record (not from the return value) so an interrupted run reports what it wrote.
            await run_items(
                plan.todo, graphs, _WriterSink(writer), concurrency=concurrency,
                recursion_limit=recursion_limit(config), max_consecutive_failures=max_consecutive_failures,
                on_record=_counting(summary, bar),
            )
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


def _counting(summary: BatchSummary, bar: Progress) -> Callable[[dict[str, Any]], None]:
    def on_record(record: dict[str, Any]) -> None:
        if is_error(record):
            summary.failed += 1
        else:
            summary.ok += 1
        bar.record(record)

    return on_record


def exit_code(summary: BatchSummary) -> int:
    """The CLI exit code: 0 all done and fine, 1 some failed or bad lines, 130 interrupted, 3 aborted."""
    if summary.interrupted:
        return 130
    if summary.aborted:
        return 3
    return 1 if summary.failed or summary.bad_lines else 0
