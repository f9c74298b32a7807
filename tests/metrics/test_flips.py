"""fraudft.metrics.flips.flip_rate: the share of changed answers, paired and stratified by label."""

from __future__ import annotations

import numpy as np
import pytest

from fraudft.metrics.flips import flip_rate


def test_against_a_hand_count():
    labels = [0, 0, 1, 1, 1, 0, 1, 0]
    original = [0, 1, 1, 1, 0, 0, 1, 0]
    changed = [0, 0, 1, 0, 1, 0, 1, 1]  # flips at 1 (1->0), 3 (1->0), 4 (0->1), 7 (0->1)
    r = flip_rate(labels, original, changed, n_resamples=2000,
                  original_scores=[.1, .6, .9, .8, .4, .2, .7, .3], changed_scores=[.1, .4, .9, .3, .6, .2, .7, .6])
    assert r["value"] == 4 / 8 and r["flips"] == 4 and r["n"] == 8
    assert r["to_fraud"] == 2 and r["to_not_fraud"] == 2
    assert r["by_label"] == {"fraud": 2 / 4, "not_fraud": 2 / 4}
    assert r["low"] <= 0.5 <= r["high"]
    assert r["mean_delta_p"]["value"] == pytest.approx((-.2 - .5 + .2 + .3) / 8)


def test_no_change_is_exactly_zero_and_no_scores_no_delta():
    r = flip_rate([0, 1] * 20, [0, 1] * 20, [0, 1] * 20, n_resamples=500)
    assert (r["value"], r["low"], r["high"]) == (0.0, 0.0, 0.0) and r["mean_delta_p"] is None


def test_the_interval_is_stratified_by_label():
    # every fraud answer flips, no other one: with the class counts fixed in each resample the rate
    # is always exactly the fraud share, so the interval is one point
    labels = [1] * 30 + [0] * 70
    original = [1] * 30 + [0] * 70
    changed = [0] * 30 + [0] * 70
    r = flip_rate(labels, original, changed, n_resamples=1000)
    assert r["low"] == r["high"] == pytest.approx(0.3)


def test_seeds_average_and_widen():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    a = rng.integers(0, 2, (2, 300))
    b = a.copy()
    b[0, :30] ^= 1  # seed 0: 10% flips; seed 1: none
    r = flip_rate(labels, a, b, n_resamples=2000)
    assert r["value"] == pytest.approx(0.05) and r["seeds"] == 2
    assert r["low"] < 0.03 and r["high"] > 0.08  # the seed draw adds the disagreement between seeds


def test_bad_shapes():
    with pytest.raises(ValueError, match="changed"):
        flip_rate([0, 1], [0, 1], [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="both or neither"):
        flip_rate([0, 1], [0, 1], [1, 0], original_scores=[0.1, 0.2])


def test_directional_counts_only_the_changed_examples_whose_p_fraud_fell():
    from fraudft.metrics.flips import directional

    labels = [0] * 6 + [1] * 4
    before = [0.2] * 10
    after = [0.1, 0.1, 0.3, 0.3, 0.3, 0.2, 0.0, 0.0, 0.0, 0.0]  # two of the five changed fell; fraud rows left out
    changed = [True] * 5 + [False] * 5
    out = directional(labels, before, after, changed, n_resamples=500)
    assert out["value"] == pytest.approx(2 / 5) and out["violations"] == 2 and out["changed"] == 5
    assert out["low"] <= out["value"] <= out["high"]
    assert out["mean_delta_p"]["value"] == pytest.approx((-0.1 - 0.1 + 0.1 + 0.1 + 0.1) / 5)
    nothing = directional(labels, before, after, [False] * 10)
    assert nothing["value"] is None and nothing["undefined"] == "no record changed"
    with pytest.raises(ValueError, match="one flag per label"):
        directional(labels, before, after, [True])
