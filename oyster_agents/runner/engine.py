"""The concurrent core of a batch run: a bounded pool of workers, each running one query at a time.

``concurrency`` queries are in flight at once, and each fans out into parallel model calls inside
the graph, so an inference server sees many requests together and batches them (vLLM's continuous
batching). The graph's nodes are synchronous; LangGraph runs them on the event loop's default
executor, so that executor (``runner.pool``) is sized here to hold every in-flight call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from oyster_agents._moved import moved_names
from oyster_agents.config import OysterConfig
from oyster_agents.errors import ConfigError, OysterError
from oyster_agents.runner.inputs import BatchItem
from oyster_agents.runner.options import BatchOptions
from oyster_agents.runner.pool import loop_executor
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


async def run_pooled(
    items: Sequence[BatchItem],
    graphs: Sequence[Any],
    sink: Sink,
    config: OysterConfig,
    options: BatchOptions,
    *,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> EngineCounts:
    """:func:`run_items` with the options' concurrency and failure limit, on a worker pool sized for
    the configuration's widest fan-out."""
    from oyster_agents.graphs.constructive import recursion_limit

    async with loop_executor(threads_needed(options.concurrency, config.loop.candidates)):
        return await run_items(
            items, graphs, sink, concurrency=options.concurrency, recursion_limit=recursion_limit(config),
            max_consecutive_failures=options.max_consecutive_failures, on_record=on_record,
        )


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
            # The record id in the run's metadata tags every callback and trace of this query with it.
            run_config = {"recursion_limit": recursion_limit, "metadata": {"oyster_record_id": item.id}}
            result = await graph.ainvoke(item.graph_input(), config=run_config)
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


# Deprecated: the loop's worker pool is ``runner.pool.loop_executor``, shared with evaluations.
__getattr__ = moved_names(__name__, {"default_executor": "oyster_agents.runner.pool:loop_executor"})
