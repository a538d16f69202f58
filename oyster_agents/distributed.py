"""Deprecated: the Ray runner moved to :mod:`oyster_agents.runner.ray`; this alias goes in the next release."""

from __future__ import annotations

from oyster_agents._moved import moved_names

__getattr__ = moved_names(
    __name__,
    dict.fromkeys(("POLL_S", "TraceWriter", "run_batch_ray", "run_shard", "shard_items"), "oyster_agents.runner.ray"),
)
