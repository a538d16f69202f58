"""The concurrent core of a batch run: a bounded pool of workers, each running one query at a time.

``concurrency`` queries are in flight at once, and each fans out into parallel model calls inside
the graph, so an inference server sees many requests together and batches them (vLLM's continuous
batching). The graph's nodes are synchronous; LangGraph runs them on the event loop's default
executor, so that executor is sized here to hold every in-flight call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from oyster_agents.errors import ConfigError, OysterError
from oyster_agents.runner.inputs import BatchItem
from oyster_agents.runner.records import error_record, is_error

MAX_THREADS = 1024


class BatchAbortedError(OysterError):
    """Too many queries in a row failed: the backend is most likely down or misconfigured."""


class Sink(Protocol):
    """Where finished records go (a local JSONL writer, or a Ray writer actor)."""

    async def write(self, record: dict[str, Any]) -> None:
        """Store one record durably before returning."""


@dataclass
class EngineCounts:
    """What one engine run finished."""

    ok: int = 0
    failed: int = 0


def threads_needed(concurrency: int, candidates: int) -> int:
    """Executor threads that let every in-flight query run its widest fan-out (K×3 simulations)."""
    return min(MAX_THREADS, concurrency * max(3 * candidates, 2) + 4)


@contextlib.asynccontextmanager
async def default_executor(threads: int) -> AsyncIterator[ThreadPoolExecutor]:
    """Install a thread pool of ``threads`` workers as the loop's default executor for a while.

    asyncio's own default has ``min(32, cpus + 4)`` threads, which would cap the number of model
    calls in flight far below what a server can batch.
    """
    loop = asyncio.get_running_loop()
    # asyncio has no public getter for the default executor; restore it so a host loop is left as found.
    previous = getattr(loop, "_default_executor", None)
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="oyster-batch")
    loop.set_default_executor(executor)
    finished = False
    try:
        yield executor
        finished = True
    finally:
        loop._default_executor = previous  # type: ignore[attr-defined]
        # On interruption, calls already running finish on their own; queued ones are dropped.
        executor.shutdown(wait=finished, cancel_futures=True)


async def run_items(
    items: Sequence[BatchItem],
    graphs: Sequence[Any],
    sink: Sink,
    *,
    concurrency: int,
    recursion_limit: int,
    max_consecutive_failures: int | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> EngineCounts:
    """Run every item through a graph, ``concurrency`` at a time, and hand each record to ``sink``.

    Item ``i`` runs on ``graphs[i % len(graphs)]`` (one graph per endpoint). A failing query becomes
    an error record and the run goes on.

    Raises:
        BatchAbortedError: ``max_consecutive_failures`` queries failed in a row.
        ConfigError: the configuration is unusable (every query would fail the same way).
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if not graphs:
        raise ConfigError("no graph to run the batch on")
    counts = EngineCounts()
    streak = 0
    last_error = ""
    queue = iter(enumerate(items))

    async def run_one(index: int, item: BatchItem) -> dict[str, Any]:
        graph = graphs[index % len(graphs)]
        try:
            result = await graph.ainvoke(item.graph_input(), config={"recursion_limit": recursion_limit})
        except ConfigError:
            raise
        except Exception as exc:  # any per-query failure becomes a record; the run goes on
            return error_record(item, exc)
        trace = dict(result["trace"])
        trace["id"] = item.id
        return trace

    async def worker() -> None:
        nonlocal streak, last_error
        for index, item in queue:  # one shared iterator: each item is taken exactly once
            record = await run_one(index, item)
            await sink.write(record)
            if is_error(record):
                counts.failed += 1
                streak += 1
                last_error = record["error"]["message"]
            else:
                counts.ok += 1
                streak = 0
            if on_record is not None:
                on_record(record)
            if max_consecutive_failures and streak >= max_consecutive_failures:
                raise BatchAbortedError(
                    f"{streak} queries in a row failed, so the run stopped; the last error: {last_error}. "
                    "Fix the cause, then rerun the same command: finished queries are kept, and "
                    "--retry-errors runs the failed ones again"
                )

    width = max(1, min(concurrency, len(items)))
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(width):
                group.create_task(worker())
    except BaseExceptionGroup as grouped:  # surface the first real cause, not the group
        raise grouped.exceptions[0] from None
    return counts
