"""Worker threads and their progress bar: the one pool that batch runs and evaluations share.

A batch installs the pool as the event loop's default executor (LangGraph runs the graph's
synchronous nodes there); an evaluation submits its items to it directly. Either way, leaving the
pool normally waits for its work, while an error or Ctrl-C drops what is still queued and returns at
once (calls already running finish on their own).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any


@contextlib.contextmanager
def worker_threads(threads: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A pool of ``threads`` worker threads named ``name-N``, shut down on the way out."""
    executor = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix=name)
    finished = False
    try:
        yield executor
        finished = True
    finally:
        executor.shutdown(wait=finished, cancel_futures=not finished)


@contextlib.asynccontextmanager
async def loop_executor(threads: int, name: str = "oyster-batch") -> AsyncIterator[ThreadPoolExecutor]:
    """:func:`worker_threads` installed as the running loop's default executor for a while.

    asyncio's own default has ``min(32, cpus + 4)`` threads, which would cap the number of model
    calls in flight far below what a server can batch.
    """
    loop = asyncio.get_running_loop()
    # asyncio has no public getter for the default executor; restore it so a host loop is left as found.
    previous = getattr(loop, "_default_executor", None)
    with worker_threads(threads, name) as executor:
        loop.set_default_executor(executor)
        try:
            yield executor
        finally:
            loop._default_executor = previous  # type: ignore[attr-defined]


class ProgressBar:
    """A tqdm bar on stderr: done / total, ok and failed counts, rate and ETA (or nothing when disabled).

    Args:
        total: how many units the run will finish.
        desc: the bar's label.
        unit: what one unit is (``query``, ``item``).
        enabled: draw the bar; when false the counts are still kept.
        note: a line written above the bar when it starts.
        mininterval: least seconds between redraws.
    """

    def __init__(
        self, total: int, *, desc: str, unit: str, enabled: bool = True, note: str = "", mininterval: float = 0.5
    ) -> None:
        self.ok = 0
        self.failed = 0
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True,
                mininterval=mininterval, smoothing=0.1,
            )
            if note:
                self._bar.write(note, file=sys.stderr)
            self._bar.set_postfix_str("ok=0 failed=0")

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

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
