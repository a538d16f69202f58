"""Deprecated: merging adapters moved to :mod:`oyster_agents.distill.merge`; this alias goes in the next release."""

from __future__ import annotations

from oyster_agents._moved import moved_names

__getattr__ = moved_names(
    __name__,
    dict.fromkeys(
        ("DEFAULT_TOLERANCE", "TOKENIZER_FILES", "ParityError", "ParityReport", "merge_adapter", "read_adapter_config",
         "serving_notes"),
        "oyster_agents.distill.merge",
    ),
)
