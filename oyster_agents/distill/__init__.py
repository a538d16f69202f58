"""Distillation: run traces → datasets → a LoRA student (SFT, ORPO, DPO) → adapter and merged model.

Reads only ``oyster_agents.schemas`` traces: no LangGraph, no server. torch, transformers, trl and
peft are imported inside the functions that need them.

Example:
    >>> from oyster_agents.distill import DatasetOptions, DistillConfig, export_dataset, train
    >>> export_dataset("sft", ["traces.jsonl"], "data/sft", DatasetOptions())
    >>> train(DistillConfig(method="sft", base_model="models/base", data_dir="data/sft", output_dir="runs/sft"))
"""

from __future__ import annotations

from oyster_agents.distill.config import DistillConfig, LoraSettings
from oyster_agents.distill.contamination import ContaminationIndex, EvalPrompt
from oyster_agents.distill.dataset import DatasetOptions, ExportReport, export_dataset
from oyster_agents.distill.export import ParityError, ParityReport, merge_adapter
from oyster_agents.distill.leaks import LeakCheck, LeakSettings
from oyster_agents.distill.mix import MixSource
from oyster_agents.distill.rows import RowOptions, TargetBuilder, preference_rows, sft_rows
from oyster_agents.distill.tiny import make_tiny_model
from oyster_agents.distill.traces import LoadedTrace, TraceProblem, read_traces
from oyster_agents.distill.train import DistillResult, train

__all__ = [
    "ContaminationIndex",
    "DatasetOptions",
    "DistillConfig",
    "DistillResult",
    "EvalPrompt",
    "ExportReport",
    "LeakCheck",
    "LeakSettings",
    "LoadedTrace",
    "LoraSettings",
    "MixSource",
    "ParityError",
    "ParityReport",
    "RowOptions",
    "TargetBuilder",
    "TraceProblem",
    "export_dataset",
    "make_tiny_model",
    "merge_adapter",
    "preference_rows",
    "read_traces",
    "sft_rows",
    "train",
]
