"""The local backend's micro-batcher: concurrent generation requests gathered into padded batches.

Callers block in :meth:`MicroBatcher.submit`; one worker thread waits a few milliseconds for
concurrent requests to arrive, groups those that can share one ``generate`` call and runs them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

Result = tuple[str, int, str]  # text, generated tokens, finish reason


@dataclass
class Request:
    """One prompt to continue."""

    prompt_ids: list[int]
    max_new_tokens: int
    temperature: float
    schema_key: str | None
    prefix_len: int = 0  # leading tokens that form the cacheable prefix (the system message)
    cached_tokens: int = 0  # prompt tokens served from the prefix cache
    future: Future = field(default_factory=Future)

    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one ``generate`` call."""
        # Constrained rows batch together even with different schemas: each row gets its own grammar.
        return (self.schema_key is not None, self.temperature)


class MicroBatcher:
    """Runs ``run_batch`` on groups of compatible requests, on one daemon thread.

    Args:
        run_batch: generates for a list of requests, one result per request in order.
        max_batch: most requests in one group.
        wait_ms: how long to wait for more requests once the first has arrived.
    """

    def __init__(self, run_batch: Callable[[list[Request]], list[Result]], *, max_batch: int, wait_ms: float) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._wait_s = wait_ms / 1000
        self._queue: queue.Queue[Request] = queue.Queue()
        self._worker = threading.Thread(target=self._serve, name="oyster-local-batcher", daemon=True)
        self._worker.start()

    def submit(self, request: Request) -> Result:
        """Queue ``request`` and wait for its result (the batch's exception is raised here)."""
        self._queue.put(request)
        return request.future.result()

    def _gather(self, pending: list[Request]) -> None:
        if not pending:
            pending.append(self._queue.get())
        deadline = time.monotonic() + self._wait_s
        while len(pending) < self._max_batch * 4:
            timeout = deadline - time.monotonic()
            try:
                pending.append(self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait())
            except queue.Empty:
                return

    def _serve(self) -> None:
        pending: list[Request] = []
        while True:
            self._gather(pending)
            key = pending[0].batch_key()
            batch = [r for r in pending if r.batch_key() == key][: self._max_batch]
            taken = {id(r) for r in batch}
            pending = [r for r in pending if id(r) not in taken]
            try:
                results = self._run_batch(batch)
            except BaseException as exc:  # hand the failure to every waiting caller
                for req in batch:
                    req.future.set_exception(exc)
                continue
            for req, result in zip(batch, results):
                req.future.set_result(result)
