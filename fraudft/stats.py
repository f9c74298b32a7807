"""Bootstrap intervals for precision and recall, and paired comparisons between two arms.

Resampling is done by scipy.stats.bootstrap over test examples (paired: an example's label and
predictions stay together), so a difference between two arms on the same test set is judged
against the spread that the test set's size allows.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import bootstrap

METRICS = ("precision", "recall", "f1")


def _metric(name: str, labels, predictions) -> float:
    labels, predictions = np.asarray(labels, bool), np.asarray(predictions, bool)
    tp = np.sum(labels & predictions)
    if name == "precision":
        den = np.sum(predictions)
    elif name == "recall":
        den = np.sum(labels)
    else:
        den = (np.sum(predictions) + np.sum(labels)) / 2
    return float(tp / den) if den else 0.0


def bootstrap_interval(labels, predictions, metric: str, n_resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of a metric over test examples."""
    result = bootstrap(
        (np.asarray(labels, bool), np.asarray(predictions, bool)),
        lambda y, p: _metric(metric, y, p),
        paired=True, vectorized=False, n_resamples=n_resamples, method="percentile",
        confidence_level=0.95, rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return float(low), float(high)


def compare(labels, predictions_a, predictions_b, metric: str, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of metric(a) - metric(b); significant when the 95% interval excludes 0."""
    y, a, b = (np.asarray(x, bool) for x in (labels, predictions_a, predictions_b))
    delta = _metric(metric, y, a) - _metric(metric, y, b)
    result = bootstrap(
        (y, a, b), lambda y_, a_, b_: _metric(metric, y_, a_) - _metric(metric, y_, b_),
        paired=True, vectorized=False, n_resamples=n_resamples, method="percentile",
        confidence_level=0.95, rng=np.random.default_rng(seed),
    )
    low, high = (float(x) for x in result.confidence_interval)
    return {"metric": metric, "delta": delta, "low": low, "high": high, "significant": bool(low > 0 or high < 0)}
