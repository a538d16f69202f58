"""The two GenAI client histograms: token usage and operation duration, per LLM call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oyster_agents.telemetry import _attributes as A


class GenAIMetrics:
    """``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration`` on one meter.

    Args:
        meter: an OpenTelemetry ``Meter`` (a no-op meter records nothing and costs next to nothing).
    """

    def __init__(self, meter: Any) -> None:
        self.token_usage = meter.create_histogram(
            A.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used per LLM call.",
            explicit_bucket_boundaries_advisory=A.TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            A.METRIC_OPERATION_DURATION,
            unit="s",
            description="Duration of one LLM call, failed calls included.",
            explicit_bucket_boundaries_advisory=A.DURATION_BUCKETS,
        )

    def record(
        self,
        attributes: Mapping[str, Any],
        seconds: float,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> None:
        """Record one call: its duration and, when the backend reported them, its tokens."""
        attrs = dict(attributes)
        self.duration.record(seconds, attrs)
        if input_tokens is not None:
            self.token_usage.record(input_tokens, {**attrs, A.TOKEN_TYPE: "input"})
        if output_tokens is not None:
            self.token_usage.record(output_tokens, {**attrs, A.TOKEN_TYPE: "output"})
