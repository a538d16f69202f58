"""BatchOptions: how a batch run goes, the same for a local run and a Ray run."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

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

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"concurrency must be at least 1, got {value}")
        return value

    @field_validator("max_consecutive_failures")
    @classmethod
    def _failures(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"max_consecutive_failures must be 0 or more (0 or None: never stop), got {value}")
        return value

    @field_validator("server_wait_s")
    @classmethod
    def _wait(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"server_wait_s must be a finite number of seconds, 0 or more, got {value}")
        return value

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
            problems = "; ".join(_message(error) for error in exc.errors())
            raise InputError(problems) from None


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "value_error":
        return message
    field = ".".join(map(str, error["loc"]))
    return f"{field}: {message}"
