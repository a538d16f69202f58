"""Output records of a batch run: the trace of a query that ran, or an error record saying why not.

Error records carry ``"status": "error"`` and the failing role, model and attempts where the
error knows them (``BackendError``, ``MalformedOutputError``); traces carry no ``status`` field.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

from oyster_agents.runner.inputs import BatchItem


class ErrorDetail(BaseModel):
    """Why a query failed."""

    type: str
    message: str
    role: str | None = None
    model: str | None = None
    attempts: int | None = None


class ErrorRecord(BaseModel):
    """The line written for a query that failed (rerun with ``--retry-errors`` to try again)."""

    id: str
    status: Literal["error"] = "error"
    query: str
    line: int | None = None
    error: ErrorDetail
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


def error_record(item: BatchItem, exc: BaseException) -> dict[str, Any]:
    """The error record for ``item`` failing with ``exc``."""
    detail = ErrorDetail(
        type=type(exc).__name__,
        message=str(exc)[:2000],
        role=getattr(exc, "role", None),
        model=getattr(exc, "model", None),
        attempts=getattr(exc, "attempts", None),
    )
    return ErrorRecord(id=item.id, query=item.query, line=item.line, error=detail).model_dump(mode="json")


def is_error(record: dict[str, Any]) -> bool:
    """True for an error record, false for a trace."""
    return record.get("status") == "error"
