"""Batch runs past one machine: shard the queries over Ray workers, one writer for the output.

The driver reads the input, skips the ids the output already holds, and splits the rest into one
shard per worker. Each worker is a Ray task that runs its shard concurrently (the same engine as
:func:`oyster_agents.runner.run_batch`) against its endpoint: with several ``base_url`` entries,
worker ``w`` uses endpoint ``w mod n``. Workers send every finished record to a single writer actor
pinned to the driver's node, which appends it to the output (fsynced) unless that id is already
there. So the output needs no shared filesystem and no merge step, and it keeps the local run's
guarantee: after a crash of a worker, the driver or the whole cluster, a rerun resumes with every
id exactly once. A retried Ray task asks the writer which of its ids are done and skips them.

Example:
    >>> from oyster_agents.runner.ray import run_batch_ray
    >>> run_batch_ray("queries.jsonl", "traces.jsonl", config=cfg, address="auto", workers=8)
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from oyster_agents.config import OysterConfig
from oyster_agents.errors import ConfigError
from oyster_agents.runner.batch import BatchInputs, BatchSummary, check_output, plan_batch
from oyster_agents.runner.engine import BatchAbortedError, run_pooled
from oyster_agents.runner.inputs import BatchItem
from oyster_agents.runner.jsonl import OutputScan, open_output, record_status
from oyster_agents.runner.options import BatchOptions
from oyster_agents.runner.pool import ProgressBar
from oyster_agents.runner.records import is_error

POLL_S = 0.5
_log = logging.getLogger("oyster_agents.runner.ray")


class TraceWriter:
    """The Ray actor that owns the output file: dedupes by id, appends, fsyncs.

    Runs as a Ray actor pinned to the driver's node; the methods are called remotely.
    """

    def __init__(self, path: str, fsync: bool, retry_errors: bool) -> None:
        self._writer, self._scan = open_output(path, fsync=fsync, retry_errors=retry_errors)
        self._status = dict(self._scan.status)
        self.ok = 0
        self.failed = 0

    def scan(self) -> dict[str, Any]:
        """What the output held when opened: ids with status, repaired tail, bad lines."""
        return {
            "status": dict(self._scan.status),
            "dropped_tail_bytes": self._scan.dropped_tail_bytes,
            "bad_lines": list(self._scan.bad_lines),
        }

    def append(self, record: dict[str, Any]) -> bool:
        """Write ``record`` unless its id is already in the output; True when written."""
        key = record["id"]
        if key in self._status:
            return False
        self._writer.write(record)
        self._status[key] = record_status(record)
        if is_error(record):
            self.failed += 1
        else:
            self.ok += 1
        return True

    def done_ids(self, ids: Sequence[str]) -> list[str]:
        """The ids among ``ids`` that already have a record."""
        return [key for key in ids if key in self._status]

    def counts(self) -> tuple[int, int]:
        """(ok, failed) written since this actor started."""
        return self.ok, self.failed

    def close(self) -> tuple[int, int]:
        """Release the output file; returns the final counts."""
        self._writer.close()
        return self.ok, self.failed


class _ActorSink:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    async def write(self, record: dict[str, Any]) -> None:
        # Awaiting the acknowledgement means a record counts as done only once it is on disk.
        await self._writer.append.remote(record)


def run_shard(
    items: list[dict[str, Any]],
    config: OysterConfig,
    endpoint: int,
    writer: Any,
    concurrency: int,
    max_consecutive_failures: int | None,
) -> tuple[int, int]:
    """Body of one Ray task: run a shard against endpoint ``endpoint``; returns (ok, failed).

    Safe to retry: ids the writer already holds are skipped.
    """
    from oyster_agents.graphs.constructive import build_graph
    from oyster_agents.runner.endpoints import config_for_endpoint

    options = BatchOptions(concurrency=concurrency, max_consecutive_failures=max_consecutive_failures)

    async def main() -> tuple[int, int]:
        shard = [BatchItem.model_validate(item) for item in items]
        done = set(await writer.done_ids.remote([item.id for item in shard]))
        todo = [item for item in shard if item.id not in done]
        if not todo:
            return 0, 0
        graph = build_graph(config_for_endpoint(config, endpoint))
        counts = await run_pooled(todo, [graph], _ActorSink(writer), config, options)
        return counts.ok, counts.failed

    return asyncio.run(main())


def shard_items(items: Sequence[BatchItem], shards: int) -> list[list[BatchItem]]:
    """Deal items round-robin into ``shards`` lists (empty ones dropped)."""
    dealt: list[list[BatchItem]] = [[] for _ in range(max(1, shards))]
    for index, item in enumerate(items):
        dealt[index % len(dealt)].append(item)
    return [shard for shard in dealt if shard]


def run_batch_ray(
    inputs: BatchInputs,
    out: str | Path,
    *,
    config: OysterConfig | None = None,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    ray_init: Mapping[str, Any] | None = None,
    options: BatchOptions | None = None,
    **settings: Any,
) -> BatchSummary:
    """Run a batch over Ray workers into one output file (see the module docstring).

    Args:
        inputs: JSONL path or iterable of dicts, as for ``run_batch``.
        out: the output JSONL file on the driver's machine.
        config: the configuration; every worker builds its graph from it. Models must be
            reachable from every node (OpenAI-compatible endpoints, or ``hf`` paths present on each).
        address: the Ray cluster to join (``"auto"`` on a cluster node, ``ray://head:10001``);
            None starts a local Ray instance on this machine.
        workers: number of shards / Ray tasks; defaults to the endpoint count or the cluster's CPUs.
        cpus_per_worker: CPUs each task reserves (workers mostly wait on the network).
        ray_init: extra keyword arguments for ``ray.init``.
        options: the run's :class:`~oyster_agents.runner.BatchOptions`, as for ``run_batch``
            (concurrency and the failure streak count per worker).
        **settings: any of those fields as a keyword argument; they win over ``options``.

    Returns:
        The :class:`~oyster_agents.runner.BatchSummary` of the run.
    """
    opts = BatchOptions.build(options, **settings)
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--ray needs Ray: pip install 'oyster-agents[ray]'") from exc
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from oyster_agents.runner.endpoints import check_endpoints, endpoint_count

    config = config or OysterConfig()
    say = opts.notify or _log.warning
    out_path = Path(out).resolve()  # the actor's working directory may differ from ours
    check_output(inputs, out_path)
    if any(cfg.backend == "fake" for cfg in config.roles.values()):
        raise ConfigError("backend 'fake' cannot cross process boundaries; use an 'openai' or 'hf' backend with --ray")
    started = time.perf_counter()
    summary = BatchSummary(out=str(out))
    owns_ray = not ray.is_initialized()
    if owns_ray:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home from offline machines
        init_kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "WARNING"}
        if address is None:
            init_kwargs["num_cpus"] = max(2, int(workers or 0))
        else:
            init_kwargs["address"] = address
        init_kwargs.update(ray_init or {})
        ray.init(**init_kwargs)
    writer = None
    bar: ProgressBar | None = None
    refs: list[Any] = []
    try:
        node = ray.get_runtime_context().get_node_id()
        actor_cls = ray.remote(num_cpus=0, max_restarts=0)(TraceWriter)
        writer = actor_cls.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False)
        ).remote(str(out_path), opts.fsync, opts.retry_errors)
        scan = _scan_from(ray.get(writer.scan.remote()))
        plan = plan_batch(inputs, scan, config=config, notify=say)
        plan.count_into(summary)
        if not plan.todo:
            return summary
        if opts.check_servers:
            check_endpoints(config, notify=say, wait_s=opts.server_wait_s)
        n_endpoints = endpoint_count(config)
        if workers is None:
            workers = max(n_endpoints, int(ray.cluster_resources().get("CPU", 1) // max(cpus_per_worker, 1e-3)))
        shards = shard_items(plan.todo, workers)
        task = ray.remote(run_shard).options(num_cpus=cpus_per_worker, max_retries=2, retry_exceptions=False)
        refs = [
            task.remote([item.model_dump(mode="json") for item in shard], config, index % n_endpoints, writer,
                        opts.concurrency, opts.max_consecutive_failures)
            for index, shard in enumerate(shards)
        ]
        note = f"{plan.skipped} of {len(plan.items)} already in {out}; " if plan.skipped else ""
        bar = ProgressBar(len(plan.todo), desc="oyster batch", unit="query", enabled=opts.progress,
                          note=f"{note}{len(shards)} Ray workers")
        _wait(ray, refs, writer, bar, summary)
    except KeyboardInterrupt:
        summary.interrupted = True
    except BatchAbortedError as exc:
        summary.aborted = str(exc)
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
        if writer is not None:
            try:
                summary.ok, summary.failed = ray.get(writer.close.remote())
            finally:
                ray.kill(writer)
        if bar is not None:
            bar.close()
        if owns_ray:
            ray.shutdown()
        summary.seconds = time.perf_counter() - started
    return summary


def _wait(ray: Any, refs: list[Any], writer: Any, bar: ProgressBar, summary: BatchSummary) -> None:
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
        for ref in ready:
            try:
                ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.as_instanceof_cause()
                if isinstance(cause, BatchAbortedError):
                    raise BatchAbortedError(str(exc.cause)) from None
                raise cause from None
        ok, failed = ray.get(writer.counts.remote())
        bar.advance(ok - bar.ok, failed - bar.failed)
        summary.ok, summary.failed = ok, failed


def _scan_from(data: Mapping[str, Any]) -> OutputScan:
    return OutputScan(
        status=dict(data["status"]), dropped_tail_bytes=int(data["dropped_tail_bytes"]), bad_lines=list(data["bad_lines"])
    )


__all__ = ["run_batch_ray"]
