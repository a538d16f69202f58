"""Evaluation records: one benchmark item, the judge's verdicts on an answer, one per-item JSONL row.

Defined in :mod:`oyster_agents.schemas.evaluation` (the schema layer, so the trace view reads
evaluation output without loading this package) and exported here, where the evaluation uses them.
"""

from oyster_agents.schemas.evaluation import (
    BinaryJudgment,
    BinaryVerdict,
    EvalItem,
    ItemRecord,
    Protocol,
    RefusalJudgment,
    RefusalLabel,
    RiskCategoryChoice,
    Suite,
    Verdicts,
)

__all__ = [
    "BinaryJudgment",
    "BinaryVerdict",
    "EvalItem",
    "ItemRecord",
    "Protocol",
    "RefusalJudgment",
    "RefusalLabel",
    "RiskCategoryChoice",
    "Suite",
    "Verdicts",
]
