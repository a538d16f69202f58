"""Batch generation of traces: concurrent, resumable after any crash, with progress and error records.

Example:
    >>> from oyster_agents import OysterConfig
    >>> from oyster_agents.runner import BatchOptions, run_batch
    >>> summary = run_batch("queries.jsonl", "traces.jsonl", config=OysterConfig.load("vllm.yaml"), concurrency=32)

For many machines see :mod:`oyster_agents.runner.ray` (``run_batch_ray``, ``oyster batch --ray``).
"""

from __future__ import annotations

from oyster_agents.runner.batch import BatchSummary, arun_batch, exit_code, run_batch
from oyster_agents.runner.engine import BatchAbortedError
from oyster_agents.runner.inputs import BatchItem, InputProblem, load_items, stable_id

# The crash-safe JSON Lines plumbing that evaluations share; importable here, documented in ``runner.jsonl``.
from oyster_agents.runner.jsonl import JsonlWriter, OutputScan, jsonl_lines, open_output, scan_output  # noqa: F401
from oyster_agents.runner.options import BatchOptions
from oyster_agents.runner.ray import run_batch_ray
from oyster_agents.runner.records import ErrorRecord, error_record, is_error

__all__ = [
    "BatchAbortedError",
    "BatchItem",
    "BatchOptions",
    "BatchSummary",
    "ErrorRecord",
    "InputProblem",
    "arun_batch",
    "error_record",
    "exit_code",
    "is_error",
    "load_items",
    "run_batch",
    "run_batch_ray",
    "stable_id",
]
