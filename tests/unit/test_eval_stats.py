"""Bootstrap intervals: reproducible with the fixed seed, near-nominal coverage, paired differences."""

from __future__ import annotations

import numpy as np

from oyster_agents.eval.stats import bootstrap_mean, paired_difference


def test_intervals_are_reproducible_with_a_fixed_seed():
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.25]
    first, again = bootstrap_mean(values), bootstrap_mean(values)
    assert first == again and first.value == np.mean(values)
    assert first.low < first.value < first.high
    other = bootstrap_mean(values, seed=7)
    assert (other.low, other.high) != (first.low, first.high)  # the seed, not chance, makes them equal


def test_too_few_items_give_no_interval():
    assert bootstrap_mean([]).value is None
    one = bootstrap_mean([0.7])
    assert (one.value, one.low, one.high, one.n) == (0.7, None, None, 1)


def test_a_rate_whose_items_all_agree_gets_the_wilson_interval():
    none = bootstrap_mean([0.0] * 10, proportion=True)
    assert none.value == 0.0 and none.low == 0.0 and abs(none.high - 0.2775) < 1e-3
    every = bootstrap_mean([1.0] * 10, proportion=True)
    assert every.high == 1.0 and abs(every.low - 0.7225) < 1e-3
    assert bootstrap_mean([0.0] * 10).high == 0.0  # a constant score is not a rate: its interval is the point
    single = bootstrap_mean([1.0], proportion=True)  # one item of a rate still gets its (wide) interval
    assert single.high == 1.0 and abs(single.low - 0.2065) < 1e-3


def test_coverage_is_near_nominal_on_simulated_data():
    rng = np.random.default_rng(1)
    true_mean, covered, trials = 0.3, 0, 200
    for trial in range(trials):
        sample = rng.normal(true_mean, 1.0, size=60)
        est = bootstrap_mean(sample, seed=trial, resamples=1000)
        covered += est.low <= true_mean <= est.high
    assert 0.90 <= covered / trials <= 0.99


def test_coverage_of_a_rate():
    rng = np.random.default_rng(2)
    covered, trials = 0, 200
    for trial in range(trials):
        est = bootstrap_mean(rng.binomial(1, 0.4, size=80).astype(float), seed=trial, resamples=1000)
        covered += est.low <= 0.4 <= est.high
    assert 0.90 <= covered / trials <= 0.99


def test_paired_difference_uses_shared_items_and_marks_zero():
    base = {"a": 0.0, "b": 0.0, "c": 1.0, "d": 0.0, "e": 0.0, "f": 0.0, "g": 0.0, "h": 0.0}
    better = {k: 1.0 for k in base} | {"z": 0.0}  # z is not in base: left out
    diff = paired_difference(better, base, target_name="student", reference_name="base")
    assert diff.n == 8 and diff.value == 7 / 8 and diff.excludes_zero and diff.low > 0
    same = paired_difference(base, dict(base), target_name="x", reference_name="base")
    assert same.value == 0.0 and not same.excludes_zero


def test_pairing_removes_shared_item_variation():
    # Item difficulty varies widely, the student is better by 0.1 on every item: paired, the interval is tight.
    rng = np.random.default_rng(3)
    base = {f"i{k}": float(v) for k, v in enumerate(rng.uniform(-1, 1, size=40))}
    student = {k: v + 0.1 for k, v in base.items()}
    diff = paired_difference(student, base, target_name="s", reference_name="b")
    assert abs(diff.value - 0.1) < 1e-9 and diff.high - diff.low < 1e-6 and diff.excludes_zero
