"""fraudft.metrics.registry: the registry, and every metric against scikit-learn with sample_weight, row by row
of a weight matrix (tied scores, bootstrap-like integer counts with zeros), undefined cases coded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    matthews_corrcoef,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from fraudft.metrics import registry as metrics
from fraudft.core.errors import UsageError
from fraudft.metrics.registry import METRICS, REASONS, get_metric, metric_names


def _recall_at_fpr(max_fpr):
    def reference(y, s, w):
        fpr, tpr, _ = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
        return tpr[fpr <= max_fpr].max()
    return reference


def _precision_at_90_recall(y, s, w):
    precision, recall, _ = precision_recall_curve(y, s, sample_weight=w)
    return precision[recall >= 0.9].max()


def _ece(y, s, w):
    """10 equal-width bins, [lo, hi) and the last [0.9, 1]: sum of (bin weight / total) |mean score - fraud rate|."""
    edges = np.linspace(0, 1, 11)
    total, error = w.sum(), 0.0
    for b in range(10):
        inside = (s >= edges[b]) & ((s < edges[b + 1]) | (b == 9))
        weight = w[inside].sum()
        if weight > 0:
            error += weight / total * abs(np.average(s[inside], weights=w[inside]) - np.average(y[inside], weights=w[inside]))
    return error


SKLEARN = {  # name -> reference(y, values, one weight vector), values as the metric needs them
    "precision": lambda y, p, w: precision_score(y, p, sample_weight=w),
    "recall": lambda y, p, w: recall_score(y, p, sample_weight=w),
    "f1": lambda y, p, w: f1_score(y, p, sample_weight=w),
    "mcc": lambda y, p, w: matthews_corrcoef(y, p, sample_weight=w),
    "balanced_accuracy": lambda y, p, w: balanced_accuracy_score(y, p, sample_weight=w),
    "roc_auc": lambda y, s, w: roc_auc_score(y, s, sample_weight=w),
    "average_precision": lambda y, s, w: average_precision_score(y, s, sample_weight=w),
    "recall_at_1pct_fpr": _recall_at_fpr(0.01),
    "recall_at_5pct_fpr": _recall_at_fpr(0.05),
    "precision_at_90_recall": _precision_at_90_recall,
    "brier": lambda y, s, w: brier_score_loss(y, s, sample_weight=w),
    "ece": _ece,
}


def _defined(name, y, v, w) -> bool:
    """Whether the metric is defined for one weight vector, from weighted sums alone."""
    pos, neg, total = w[y].sum(), w[~y].sum(), w.sum()
    flagged = w[v].sum() if v.dtype == bool else None
    return {"precision": lambda: flagged > 0, "recall": lambda: pos > 0, "f1": lambda: pos > 0 or flagged > 0,
            "average_precision": lambda: pos > 0, "precision_at_90_recall": lambda: pos > 0,
            "brier": lambda: total > 0, "ece": lambda: total > 0}.get(name, lambda: pos > 0 and neg > 0)()


def _check(name, y, v, w):
    values, codes = METRICS[name].fn(y, v, w)
    assert values.shape == codes.shape == (w.shape[0],)
    for row, value, code in zip(w, values, codes):
        if _defined(name, y, v, row):
            assert code == 0
            assert value == pytest.approx(SKLEARN[name](y, v, row), abs=1e-12), (name, row)
        else:
            assert np.isnan(value) and code in REASONS, (name, row, value, code)


def test_the_registry_in_order():
    assert metric_names() == ("precision", "recall", "f1", "mcc", "balanced_accuracy", "roc_auc", "average_precision",
                              "recall_at_1pct_fpr", "recall_at_5pct_fpr", "precision_at_90_recall", "brier", "ece")
    assert metric_names("predictions") == ("precision", "recall", "f1", "mcc", "balanced_accuracy")
    assert set(SKLEARN) == set(METRICS)  # every registered metric is tested here
    assert [m for m in METRICS.values() if not m.higher_is_better] == [METRICS["brier"], METRICS["ece"]]
    for m in METRICS.values():
        assert m.needs in ("predictions", "scores") and m.description and "\n" not in m.description
    assert "lower is better" in METRICS["ece"].description and "lower is better" in METRICS["brier"].description


def test_registry_errors():
    with pytest.raises(ValueError, match=r"got 'auc', expected a metric, one of precision, recall, f1, mcc, "):
        get_metric("auc")
    with pytest.raises(UsageError, match=r"^--metric: got 'mc', .*\(did you mean mcc\?\)$"):
        get_metric("mc", option="--metric")
    with pytest.raises(ValueError, match="already registered"):
        metrics.register("mcc", "predictions", True, "again")
    with pytest.raises(ValueError, match="needs"):
        metric_names("labels")


def test_a_registered_metric_joins_the_registry():
    @metrics.register("accuracy_for_test", "predictions", True, "share right")
    def accuracy(y, p, w):
        return (w @ (np.asarray(y) == np.asarray(p))) / w.sum(1), np.zeros(w.shape[0], int)

    try:
        assert get_metric("accuracy_for_test").fn is accuracy and metric_names()[-1] == "accuracy_for_test"
        with pytest.raises(ValueError, match="already registered"):
            metrics.register("accuracy_for_test", "predictions", True, "again")
    finally:
        METRICS.remove("accuracy_for_test")


def _data(seed: int, n: int, prevalence: float, rows: int):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    scores = np.round(np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1), 2)  # 2 decimals: many ties, some across classes
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(rows)]).astype(float)
    return y, scores, counts


@pytest.mark.parametrize("prevalence", [0.2, 0.7])  # roc_auc ranks the smaller class: either one
@pytest.mark.parametrize("name", list(SKLEARN))
def test_matches_sklearn_on_bootstrap_counts(name, prevalence):
    y, scores, counts = _data(7, 300, prevalence, rows=6)
    values = scores if METRICS[name].needs == "scores" else scores > 0.5
    assert (counts == 0).any() and len(np.unique(scores)) < 100
    _check(name, y, values, counts)
    # the same in float32 counts, Fortran-ordered, as fraudft.metrics.stats passes them (exact for counts)
    float32 = np.asfortranarray(counts.astype(np.float32))
    assert METRICS[name].fn(y, values, float32)[0] == pytest.approx(METRICS[name].fn(y, values, counts)[0], rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("name", list(SKLEARN))
def test_matches_sklearn_property(name, data):
    n = data.draw(st.integers(2, 25))
    y = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    grid = data.draw(st.sampled_from([2, 5, 11, 101]))  # few distinct scores: ties
    scores = np.array(data.draw(st.lists(st.integers(0, grid - 1), min_size=n, max_size=n))) / (grid - 1)
    rows = data.draw(st.integers(1, 4))
    w = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n * rows, max_size=n * rows)), float).reshape(rows, n)
    _check(name, y, scores if METRICS[name].needs == "scores" else scores > 0.5, w)


def test_undefined_cases_give_nan_and_a_reason():
    y = np.array([1, 1, 0, 0, 0], bool)
    s = np.array([0.9, 0.2, 0.4, 0.1, 0.0])
    w = np.array([[0, 0, 1, 2, 1],    # no positive drawn
                  [1, 2, 0, 0, 0],    # no negative drawn
                  [0, 0, 0, 0, 0],    # nothing drawn
                  [1, 1, 1, 1, 1]], float)
    expect = {  # name -> codes of the four rows
        "precision": [1, 0, 1, 0], "recall": [2, 0, 2, 0], "f1": [3, 0, 3, 0], "mcc": [5, 5, 5, 0],
        "balanced_accuracy": [2, 4, 2, 0], "roc_auc": [5, 5, 5, 0], "average_precision": [2, 0, 2, 0],
        "recall_at_1pct_fpr": [5, 5, 5, 0], "recall_at_5pct_fpr": [5, 5, 5, 0], "precision_at_90_recall": [2, 0, 2, 0],
        "brier": [0, 0, 6, 0], "ece": [0, 0, 6, 0]}
    for name, codes in expect.items():
        values, got = METRICS[name].fn(y, s if METRICS[name].needs == "scores" else s > 0.5, w)
        assert got.tolist() == codes, name
        assert np.isnan(values).tolist() == [c != 0 for c in codes], name
    assert REASONS[5] == "test labels of one class" and REASONS[1] == "no positive prediction"


def test_constant_predictor_and_constant_score():
    y = np.array([1, 0, 1, 0, 0], bool)
    ones = np.ones((1, 5))
    assert METRICS["mcc"].fn(y, np.zeros(5, bool), ones)[0][0] == 0.0  # defined: the baseline
    assert METRICS["roc_auc"].fn(y, np.full(5, 0.7), ones)[0][0] == 0.5  # one tie: chance
    assert METRICS["recall_at_1pct_fpr"].fn(y, np.full(5, 0.7), ones)[0][0] == 0.0  # only the (0, 0) point qualifies
    assert METRICS["precision_at_90_recall"].fn(y, np.full(5, 0.7), ones)[0][0] == pytest.approx(0.4)  # flag all
