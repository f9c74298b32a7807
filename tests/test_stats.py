"""fraudft.stats: metrics with undefined cases, the cluster bootstrap over seeds, the paired compare."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    balanced_accuracy_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
)

from fraudft import stats

N = 200
RNG = np.random.default_rng(1)
LABELS = RNG.integers(0, 2, N)
A = np.where(RNG.random(N) < 0.80, LABELS, 1 - LABELS)  # ~80% right
B = np.where(RNG.random(N) < 0.72, LABELS, 1 - LABELS)  # ~72% right
SKLEARN = {"precision": precision_score, "recall": recall_score, "f1": f1_score, "mcc": matthews_corrcoef,
           "balanced_accuracy": balanced_accuracy_score}


@pytest.mark.parametrize("metric", stats.METRICS)
def test_metric_value_matches_sklearn(metric):
    assert stats.metric_value(metric, LABELS, A) == pytest.approx(SKLEARN[metric](LABELS, A))
    assert stats.undefined_reason(metric, LABELS, A) is None


def test_seeds_pooled_are_the_confusion_counts_summed():
    seeds = np.stack([A, B])
    assert stats.metric_value("f1", LABELS, seeds) == pytest.approx(f1_score(np.tile(LABELS, 2), seeds.ravel()))
    assert stats.metric_value("mcc", LABELS, seeds) == pytest.approx(matthews_corrcoef(np.tile(LABELS, 2), seeds.ravel()))


@pytest.mark.parametrize("constant", [0, 1])
def test_mcc_of_a_constant_predictor_is_zero(constant):
    predictions = np.full(N, constant)
    assert stats.metric_value("mcc", LABELS, predictions) == 0.0
    assert stats.undefined_reason("mcc", LABELS, predictions) is None
    result = stats.pooled_interval(LABELS, predictions, "mcc")
    assert (result["value"], result["low"], result["high"], result["undefined"]) == (0.0, 0.0, 0.0, None)
    assert stats.pooled_compare(LABELS, A, predictions, "mcc")["verdict"] == "higher"  # a model beats the baseline


def test_undefined_metrics_say_why():
    none_predicted = np.zeros(N, int)
    assert stats.metric_value("precision", LABELS, none_predicted) is None
    assert stats.undefined_reason("precision", LABELS, none_predicted) == "no positive prediction"
    assert stats.metric_value("recall", LABELS, none_predicted) == 0.0  # defined: tp = 0 of the positives
    no_positive = np.zeros(N, int)
    assert stats.undefined_reason("recall", no_positive, A) == "no positive label"
    assert stats.undefined_reason("f1", no_positive, no_positive) == "no positive label or prediction"
    assert stats.undefined_reason("balanced_accuracy", np.ones(N, int), A) == "no negative label"
    assert stats.undefined_reason("mcc", np.ones(N, int), A) == "test labels of one class"
    result = stats.pooled_interval(LABELS, none_predicted, "precision")
    assert result == {"metric": "precision", "value": None, "low": None, "high": None,
                      "undefined": "no positive prediction", "seeds": 1, "n": N}
    compared = stats.pooled_compare(LABELS, A, none_predicted, "precision")
    assert compared["delta"] is None and not compared["significant"]
    assert compared["verdict"] == "no difference shown" and compared["undefined"] == "b: no positive prediction"


def test_interval_holds_the_value_and_is_reproducible():
    result = stats.pooled_interval(LABELS, A, "f1", seed=3)
    assert result["low"] < result["value"] < result["high"] and result["seeds"] == 1 and result["n"] == N
    assert stats.pooled_interval(LABELS, A, "f1", seed=3) == result
    assert stats.pooled_interval(LABELS, [A], "f1", seed=3) == result  # 1-D is one seed


@pytest.mark.parametrize("metric", stats.METRICS)
def test_duplicated_seeds_do_not_narrow_the_interval(metric):
    one = stats.pooled_interval(LABELS, A, metric)
    three = stats.pooled_interval(LABELS, [A, A, A], metric)
    assert (three["value"], three["low"], three["high"]) == pytest.approx((one["value"], one["low"], one["high"]))
    assert three["seeds"] == 3
    single = stats.pooled_compare(LABELS, A, B, metric)
    tripled = stats.pooled_compare(LABELS, [A] * 3, [B] * 3, metric)
    assert (tripled["low"], tripled["high"]) == pytest.approx((single["low"], single["high"]))
    assert tripled["verdict"] == single["verdict"]


def test_naive_concatenation_would_narrow_it():
    """Why seeds are pooled per example: stacking copies as if they were new examples shrinks the interval."""
    one = stats.pooled_interval(LABELS, A, "f1")
    naive = stats.pooled_interval(np.tile(LABELS, 3), np.tile(A, 3), "f1")
    assert naive["high"] - naive["low"] < 0.7 * (one["high"] - one["low"])


def test_paired_compare_direction_and_verdicts():
    result = stats.pooled_compare(LABELS, A, B, "f1")
    assert result["delta"] == pytest.approx(f1_score(LABELS, A) - f1_score(LABELS, B))
    assert result["low"] <= result["delta"] <= result["high"]
    assert set(result) == {"metric", "delta", "low", "high", "significant", "verdict", "undefined", "n",
                           "seeds_a", "seeds_b"}
    assert stats.pooled_compare(LABELS, A, A, "f1")["verdict"] == "no difference shown"
    assert stats.pooled_compare(LABELS, A, A, "f1")["delta"] == 0.0
    perfect, coin = LABELS, np.where(np.arange(N) % 2 == 0, LABELS, 1 - LABELS)
    better = stats.pooled_compare(LABELS, perfect, coin, "mcc")
    assert better["significant"] and better["verdict"] == "higher" and better["low"] > 0
    worse = stats.pooled_compare(LABELS, coin, perfect, "mcc")
    assert worse["significant"] and worse["verdict"] == "lower" and worse["high"] < 0


def test_paired_compare_is_narrower_than_unpaired_intervals_suggest():
    """Two arms that differ on a few examples only: the paired interval sees the difference."""
    close = A.copy()
    wrong = np.flatnonzero(A != LABELS)[:12]
    close[wrong] = LABELS[wrong]  # 12 fewer mistakes than A, same elsewhere
    result = stats.pooled_compare(LABELS, close, A, "balanced_accuracy")
    assert result["verdict"] == "higher"
    a, c = (stats.pooled_interval(LABELS, p, "balanced_accuracy") for p in (A, close))
    assert c["low"] < a["high"]  # the separate intervals overlap


def test_compare_with_different_seed_counts():
    result = stats.pooled_compare(LABELS, [A, B], A, "recall")
    assert (result["seeds_a"], result["seeds_b"]) == (2, 1)
    assert result["delta"] == pytest.approx(recall_score(np.tile(LABELS, 2), np.concatenate([A, B]))
                                             - recall_score(LABELS, A))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="metric: got 'auc'"):
        stats.metric_value("auc", LABELS, A)
    with pytest.raises(ValueError, match=r"predictions: got shape \(3,\), expected \(200,\)"):
        stats.pooled_interval(LABELS, [0, 1, 0], "f1")
    with pytest.raises(ValueError, match="predictions_b"):
        stats.pooled_compare(LABELS, A, np.full(N, 2), "f1")
    with pytest.raises(ValueError, match="labels: got shape"):
        stats.metric_value("f1", [], [])
