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


def _confusion(labels: np.ndarray, predictions: np.ndarray):
    """tp, fp, fn, tn summed over the last axis (predictions may carry leading axes)."""
    y, p = labels.astype(bool), predictions.astype(bool)
    return (p & y).sum(-1), (p & ~y).sum(-1), (~p & y).sum(-1), (~p & ~y).sum(-1)


def _from_counts(metric: str, tp, fp, fn, tn):
    tp, fp, fn, tn = (np.asarray(x, float) for x in (tp, fp, fn, tn))
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "precision":
            return np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        if metric == "recall":
            return np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        if metric == "f1":
            return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        if metric == "mcc":  # 0 for a constant predictor (a zero factor), as is usual
            den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
            return np.where(den > 0, (tp * tn - fp * fn) / np.where(den > 0, den, 1), 0.0)
    raise ValueError(f"metric: got {metric!r}, expected precision, recall, f1 or mcc")


def pooled_compare(labels, predictions_a, predictions_b, metric: str, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Paired cluster bootstrap of metric(a) - metric(b): test examples are resampled, every seed's
    predictions of a drawn example go with it, so extra seeds never narrow the interval by
    themselves. `predictions_*`: seeds x examples (or one row)."""
    y = np.asarray(labels, bool)
    a, b = (np.atleast_2d(np.asarray(p, bool)) for p in (predictions_a, predictions_b))
    index = np.random.default_rng(seed).integers(0, len(y), size=(n_resamples, len(y)))

    def value(p, idx):
        counts = _confusion(np.broadcast_to(y[idx][..., None, :], idx.shape[:-1] + p.shape), p[..., idx].swapaxes(0, -2))
        return _from_counts(metric, *(c.sum(-1) for c in counts))

    delta = float(value(a, np.arange(len(y))[None])[0] - value(b, np.arange(len(y))[None])[0])
    deltas = value(a, index) - value(b, index)
    low, high = (float(x) for x in np.nanpercentile(deltas, [2.5, 97.5]))
    significant = bool(low > 0 or high < 0)
    verdict = ("higher" if low > 0 else "lower") if significant else "no difference shown"
    return {"metric": metric, "delta": delta, "low": low, "high": high, "significant": significant, "verdict": verdict,
            "n": len(y), "seeds_a": len(a), "seeds_b": len(b)}
