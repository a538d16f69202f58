"""BatchOptions: how a batch run goes, the same for a local run and a Ray run."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from oyster_agents._records import describe_errors
from oyster_agents.errors import InputError


class BatchOptions(BaseModel):
    """The settings of a batch run (``run_batch``, ``arun_batch``, ``run_batch_ray``).

    Attributes:
        concurrency: queries in flight at once (per worker on Ray); each fans out into parallel
            model calls.
        progress: show a progress bar on stderr.
        retry_errors: run the ids whose record in the output is an error record again (replacing it).
        max_consecutive_failures: stop after this many failed queries in a row (0 or None: never;
            counted per worker on Ray).
        check_servers: check that OpenAI-compatible endpoints answer before starting.
        server_wait_s: keep retrying that check this long (a server still loading its model).
        fsync: make each record durable before the next (turn off only for throwaway runs).
        notify: receives notices (bad input lines, repaired output); None: logging.

    Example:
        >>> run_batch("queries.jsonl", "traces.jsonl", options=BatchOptions(concurrency=32, progress=True))
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int = 8
    progress: bool = False
    retry_errors: bool = False
    max_consecutive_failures: int | None = 20
    check_servers: bool = True
    server_wait_s: float | None = None
    fsync: bool = True
    notify: Callable[[str], None] | None = None

    @model_validator(mode="after")
    def _check(self) -> BatchOptions:
        problems = []
        if self.concurrency < 1:
            problems.append(f"concurrency must be at least 1, got {self.concurrency}")
        if self.max_consecutive_failures is not None and self.max_consecutive_failures < 0:
            problems.append("max_consecutive_failures must be 0 or more (0 or None: never stop), "
                            f"got {self.max_consecutive_failures}")
        wait = self.server_wait_s
        if wait is not None and not (math.isfinite(wait) and wait >= 0):
            problems.append(f"server_wait_s must be a finite number of seconds, 0 or more, got {wait}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def build(cls, options: BatchOptions | None = None, **settings: Any) -> BatchOptions:
        """``options`` (or the defaults) with the keyword ``settings`` applied on top.

        Raises:
            TypeError: a setting that is not a field (as for an unknown keyword argument).
            InputError: a value out of range, with the field and the fix.
        """
        unknown = sorted(set(settings) - set(cls.model_fields))
        if unknown:
            raise TypeError(f"unexpected batch option(s) {', '.join(unknown)}; known: {', '.join(cls.model_fields)}")
        base = options.model_dump(exclude_unset=True) if options is not None else {}
        try:
            return cls(**(base | settings))
        except ValidationError as exc:
            raise InputError(describe_errors(exc, root="batch options")) from None

