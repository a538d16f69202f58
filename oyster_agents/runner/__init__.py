"""Batch generation of traces: concurrent, resumable after any crash, with progress and error records.

Example:
    >>> from oyster_agents import OysterConfig
    >>> from oyster_agents.runner import run_batch
    >>> summary = run_batch("queries.jsonl", "traces.jsonl", config=OysterConfig.load("vllm.yaml"), concurrency=32)

For many machines see :mod:`oyster_agents.distributed` (``oyster batch --ray``).
"""

from __future__ import annotations

from oyster_agents.runner.batch import BatchSummary, arun_batch, exit_code, run_batch
from oyster_agents.runner.engine import BatchAbortedError
from oyster_agents.runner.inputs import BatchItem, InputProblem, load_items, stable_id
from oyster_agents.runner.jsonl import JsonlWriter, OutputScan, jsonl_lines, open_output, scan_output
from oyster_agents.runner.records import ErrorRecord, error_record, is_error

__all__ = [
    "BatchAbortedError",
    "BatchItem",
    "BatchSummary",
    "ErrorRecord",
    "InputProblem",
    "JsonlWriter",
    "OutputScan",
    "arun_batch",
    "error_record",
    "exit_code",
    "is_error",
    "jsonl_lines",
    "load_items",
    "open_output",
    "run_batch",
    "scan_output",
    "stable_id",
]
