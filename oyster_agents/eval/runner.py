"""Deprecated: the evaluation run moved to :mod:`oyster_agents.eval.run`, and ``ITEMS_FILE`` and
``read_records`` to :mod:`oyster_agents.eval.records`. This alias goes in the next release."""

from __future__ import annotations

from oyster_agents.eval import records, run
from oyster_agents._moved import moved_names

__getattr__ = moved_names(__name__, {
    "ITEMS_FILE": records,
    "read_records": records,
    "EvalRun": run,
    "MatchOnlyJudge": run,
    "evaluate_item": run,
    "run_eval": run,
})
