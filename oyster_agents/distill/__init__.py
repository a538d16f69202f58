"""Distillation: run traces → datasets → a LoRA student (SFT, ORPO, DPO) → adapter and merged model.

Reads only ``oyster_agents.schemas`` traces: no LangGraph, no server. torch, transformers, trl and
peft are imported inside the functions that need them.

Example:
    >>> from oyster_agents.distill import DatasetOptions, DistillConfig, export_dataset, train
    >>> export_dataset("sft", ["traces.jsonl"], "data/sft", DatasetOptions())
    >>> train(DistillConfig(method="sft", base_model="models/base", data_dir="data/sft", output_dir="runs/sft"))
"""

from __future__ import annotations

from oyster_agents._moved import moved_names
from oyster_agents.distill.config import DistillConfig, LoraSettings
from oyster_agents.distill.contamination import EvalPrompt
from oyster_agents.distill.dataset import DatasetOptions, ExportReport, export_dataset
from oyster_agents.distill.leaks import LeakSettings
from oyster_agents.distill.merge import ParityError, ParityReport, merge_adapter
from oyster_agents.distill.mix import MixSource
from oyster_agents.distill.rows import RowOptions, preference_rows, sft_rows
from oyster_agents.distill.tiny import make_tiny_model
from oyster_agents.distill.traces import read_traces
from oyster_agents.distill.train import DistillResult, train

__all__ = [
    "DatasetOptions",
    "DistillConfig",
    "DistillResult",
    "EvalPrompt",
    "ExportReport",
    "LeakSettings",
    "LoraSettings",
    "MixSource",
    "ParityError",
    "ParityReport",
    "RowOptions",
    "export_dataset",
    "make_tiny_model",
    "merge_adapter",
    "preference_rows",
    "read_traces",
    "sft_rows",
    "train",
]

# Deprecated: machinery the package uses internally is imported from its own module.
__getattr__ = moved_names(
    __name__,
    {
        "ContaminationIndex": "oyster_agents.distill.contamination",
        "LeakCheck": "oyster_agents.distill.leaks",
        "LoadedTrace": "oyster_agents.distill.traces",
        "TargetBuilder": "oyster_agents.distill.assistant",
        "TraceProblem": "oyster_agents.distill.traces",
    },
)
