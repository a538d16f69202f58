"""Bootstrap confidence intervals for the report's headline numbers, and paired differences.

Method: the percentile bootstrap. The per-item values (a 0/1 outcome for a rate, a score for a
mean) are resampled with replacement ``RESAMPLES`` times; the interval is the 2.5th and 97.5th
percentile of the resampled means. The generator is seeded (``SEED``, fixed), so rebuilding a
report from the same rows gives the same intervals. A paired difference resamples the *items*
both targets answered and were judged on, keeping each item's two values together, so the
item-to-item variation common to both targets cancels out.

When every item of a rate agrees (0 of n, or n of n), every resample agrees too and the bootstrap
interval collapses to a point; the Wilson score interval is given instead (0 of 10: 0 to 27.8 %),
so that "none of 10" does not read as "certainly none". Otherwise, with a single item (fewer than
``MIN_ITEMS``) no interval is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

SEED = 20240611
RESAMPLES = 2000
LEVEL = 0.95
MIN_ITEMS = 2


class Estimate(BaseModel):
    """A mean with its bootstrap interval (``low``/``high`` None when too few items)."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int = 0

    def scaled(self, factor: float) -> "Estimate":
        """The same estimate in other units (e.g. ×100 for percent)."""
        def s(x: float | None) -> float | None:
            return None if x is None else x * factor

        return Estimate(value=s(self.value), low=s(self.low), high=s(self.high), n=self.n)

    def complement(self) -> "Estimate":
        """1 − the estimate (e.g. robustness from ASR), interval bounds swapped."""
        def c(x: float | None) -> float | None:
            return None if x is None else 1.0 - x

        return Estimate(value=c(self.value), low=c(self.high), high=c(self.low), n=self.n)


class PairedDifference(Estimate):
    """Mean of (target − reference) over the items both have, with its interval."""

    target: str
    reference: str
    excludes_zero: bool = Field(default=False, description="The interval lies wholly above or below 0.")


def bootstrap_mean(values: Sequence[float], *, seed: int = SEED, resamples: int = RESAMPLES,
                   level: float = LEVEL, proportion: bool = False) -> Estimate:
    """The mean of ``values`` with its percentile-bootstrap interval.

    ``proportion``: the values are 0/1 outcomes (a rate); when they all agree, the Wilson interval is given.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Estimate()
    estimate = Estimate(value=float(data.mean()), n=int(data.size))
    if proportion and np.all(data == data[0]) and data[0] in (0.0, 1.0):
        estimate.low, estimate.high = wilson(float(data.sum()), int(data.size), level)
        return estimate
    if data.size < MIN_ITEMS:
        return estimate
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    estimate.low, estimate.high = float(low), float(high)
    return estimate


def wilson(successes: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``successes / n``."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * float(np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / denom
    if successes == 0:  # exact ends, not a rounding error away from them
        return 0.0, centre + half
    if successes == n:
        return centre - half, 1.0
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_difference(target: dict[str, float], reference: dict[str, float], *, target_name: str,
                      reference_name: str, seed: int = SEED, resamples: int = RESAMPLES) -> PairedDifference:
    """Mean of target − reference over the item ids present in both, with a paired bootstrap interval."""
    shared = [key for key in target if key in reference]
    diffs = [target[key] - reference[key] for key in shared]
    est = bootstrap_mean(diffs, seed=seed, resamples=resamples)
    excludes = est.low is not None and est.high is not None and (est.low > 0 or est.high < 0)
    return PairedDifference(**est.model_dump(), target=target_name, reference=reference_name, excludes_zero=excludes)
