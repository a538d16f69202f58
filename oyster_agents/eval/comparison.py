"""Paired comparisons: each headline metric of a target minus the first target's, over the items both have."""

from __future__ import annotations

from collections.abc import Iterable

from oyster_agents.eval.records import ItemRecord
from oyster_agents.eval.scores import HEADLINE_METRICS, latest, metric_values
from oyster_agents.eval.stats import PairedDifference, paired_difference


class Comparison(PairedDifference):
    """A paired difference of one headline metric between two targets (unscaled; see ``scale``)."""

    metric: str
    title: str
    scale: float
    higher_is_better: bool


def compare(records: Iterable[ItemRecord]) -> list[Comparison]:
    """Paired differences (target − the first target) of every headline metric, over the items both have.

    The first target in the rows is the reference (list the base model first). Only metrics both
    targets have values for are compared.
    """
    kept = latest(records)
    targets = list(dict.fromkeys(r.target for r in kept))
    if len(targets) < 2:
        return []
    reference, others = targets[0], targets[1:]
    by_target = {t: [r for r in kept if r.target == t] for t in targets}
    out = []
    for metric in HEADLINE_METRICS:
        ref_values = metric_values(by_target[reference], metric)
        if not ref_values:
            continue
        for target in others:
            values = metric_values(by_target[target], metric)
            if not any(k in ref_values for k in values):
                continue
            diff = paired_difference(values, ref_values, target_name=target, reference_name=reference)
            out.append(Comparison(**diff.model_dump(), metric=metric.key, title=metric.title, scale=metric.scale,
                                  higher_is_better=metric.higher_is_better))
    return out
