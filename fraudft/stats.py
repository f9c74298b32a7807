"""The one bootstrap of fraudft: metric intervals and paired comparisons, seeds pooled per example.

    from fraudft.stats import pooled_interval, pooled_compare
    pooled_interval(labels, [seed0_preds, seed1_preds], "f1")
        # {"metric": "f1", "value": .., "low": .., "high": .., "undefined": None, "seeds": 2, "n": 400}
    pooled_compare(labels, preds_a, preds_b, "mcc")
        # delta = mcc(a) - mcc(b); verdict "higher" | "lower" | "no difference shown"

Predictions are 0/1 per test example, 2-D (seeds x examples) or 1-D (one seed). A resample draws
test examples with replacement and scores every seed's predictions of the drawn examples together
(a cluster bootstrap: the example is the unit, not the example-seed pair), with the same draw for
both arms of a comparison. So k identical copies of one run give the interval of that run, not a
narrower one, and a difference between two arms is judged against what the test set's size allows.

Hand-written rather than scipy.stats.bootstrap because one resample matrix is shared across seeds
and arms with different seed counts, and a resample where the metric is undefined (no positive
prediction drawn, say) is dropped rather than turned into a NaN interval. Confusion counts of all
resamples come from one matrix product of the draw counts with the 0/1 columns.
"""

from __future__ import annotations

import numpy as np

METRICS = ("precision", "recall", "f1", "mcc", "balanced_accuracy")
CONFIDENCE = 0.95
REASONS = {  # code -> why a metric is undefined
    1: "no positive prediction", 2: "no positive label", 3: "no positive label or prediction",
    4: "no negative label", 5: "test labels of one class"}


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric: got {metric!r}, expected one of {', '.join(METRICS)}")


def _as_labels(labels) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels: got shape {y.shape}, expected a non-empty 1-D sequence of 0/1")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels: expected only 0/1 (or False/True) values")
    return y.astype(bool)


def _as_predictions(predictions, n: int, name: str = "predictions") -> np.ndarray:
    """Predictions as a (seeds x examples) bool array."""
    p = np.asarray(predictions)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != n or p.shape[0] == 0:
        raise ValueError(f"{name}: got shape {np.asarray(predictions).shape}, expected ({n},) or (seeds, {n})")
    if not np.isin(p, (0, 1)).all():
        raise ValueError(f"{name}: expected only 0/1 (or False/True) values")
    return p.astype(bool)


def _counts(weights: np.ndarray, y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pooled (tp, fp, fn, tn) over seeds for each row of example weights (resample draw counts).

    weights: (resamples x n) counts; y: (n,); p: (seeds x n). Each count is a (resamples,) array."""
    columns = np.concatenate([y[None, :], p, p & y[None, :]]).T.astype(float)  # n x (1 + 2 seeds)
    sums = weights @ columns
    k = p.shape[0]
    positives, predicted, tp = sums[:, 0] * k, sums[:, 1:k + 1].sum(1), sums[:, k + 1:].sum(1)
    total = weights.sum(1) * k
    fp, fn = predicted - tp, positives - tp
    return tp, fp, fn, total - tp - fp - fn


def _from_counts(metric: str, tp, fp, fn, tn) -> tuple[np.ndarray, np.ndarray]:
    """(values, reason codes) of a metric over arrays of counts; code 0 = defined, else REASONS[code]."""
    tp, fp, fn, tn = (np.asarray(x, float) for x in (tp, fp, fn, tn))
    pos, neg, pred_pos, pred_neg = tp + fn, fp + tn, tp + fp, fn + tn
    code = np.zeros(tp.shape, int)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "precision":
            code[pred_pos == 0] = 1
            value = tp / pred_pos
        elif metric == "recall":
            code[pos == 0] = 2
            value = tp / pos
        elif metric == "f1":
            code[(pos == 0) & (pred_pos == 0)] = 3
            value = 2 * tp / (2 * tp + fp + fn)
        elif metric == "balanced_accuracy":
            code[neg == 0] = 4
            code[pos == 0] = 2
            value = (tp / pos + tn / neg) / 2
        else:  # mcc; a constant predictor (one predicted class) scores 0: the baseline to beat
            value = (tp * tn - fp * fn) / np.sqrt(pos * neg * pred_pos * pred_neg)
            value = np.where((pred_pos == 0) | (pred_neg == 0), 0.0, value)
            code[(pos == 0) | (neg == 0)] = 5
    return np.where(code == 0, value, np.nan), code


def _point(metric: str, y: np.ndarray, p: np.ndarray) -> tuple[float | None, str | None]:
    counts = _counts(np.ones((1, y.size)), y, p)
    values, codes = _from_counts(metric, *counts)
    return (None, REASONS[int(codes[0])]) if codes[0] else (float(values[0]), None)


def metric_value(metric: str, labels, predictions) -> float | None:
    """The metric of one prediction vector (or seeds pooled, if 2-D); None where it is undefined."""
    _check_metric(metric)
    y = _as_labels(labels)
    return _point(metric, y, _as_predictions(predictions, y.size))[0]


def undefined_reason(metric: str, labels, predictions) -> str | None:
    """Why the metric is undefined here (e.g. "no positive prediction"), or None when it is defined."""
    _check_metric(metric)
    y = _as_labels(labels)
    return _point(metric, y, _as_predictions(predictions, y.size))[1]


def _draws(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples x n) counts of how often each example is drawn in each resample."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples: got {n_resamples}, expected >= 1")
    index = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    flat = (index + n * np.arange(n_resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=n_resamples * n).reshape(n_resamples, n).astype(float)


def _percentiles(values: np.ndarray) -> tuple[float | None, float | None]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None, None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def pooled_interval(labels, predictions, metric: str, n_resamples: int = 1000, seed: int = 0) -> dict:
    """95% percentile-bootstrap interval of a metric, the seeds (rows of predictions) pooled per example.

    Returns {"metric", "value", "low", "high", "undefined", "seeds", "n"}; value, low and high are
    None when the metric is undefined on the test set itself (`undefined` says why)."""
    _check_metric(metric)
    y = _as_labels(labels)
    p = _as_predictions(predictions, y.size)
    value, reason = _point(metric, y, p)
    out = {"metric": metric, "value": value, "low": None, "high": None, "undefined": reason,
           "seeds": p.shape[0], "n": int(y.size)}
    if reason is None:
        values, _ = _from_counts(metric, *_counts(_draws(y.size, n_resamples, seed), y, p))
        out["low"], out["high"] = _percentiles(values)
    return out


def pooled_compare(labels, predictions_a, predictions_b, metric: str, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of metric(a) - metric(b) on one test set, each side's seeds pooled per example.

    Both sides are scored on the same drawn examples. significant: the 95% interval excludes 0;
    verdict: "higher" (a above b), "lower" (a below b) or "no difference shown". Where the metric
    is undefined for a side on the test set, delta/low/high are None and `undefined` says why."""
    _check_metric(metric)
    y = _as_labels(labels)
    a = _as_predictions(predictions_a, y.size, "predictions_a")
    b = _as_predictions(predictions_b, y.size, "predictions_b")
    (value_a, reason_a), (value_b, reason_b) = _point(metric, y, a), _point(metric, y, b)
    reason = f"a: {reason_a}" if reason_a else (f"b: {reason_b}" if reason_b else None)
    out = {"metric": metric, "delta": None, "low": None, "high": None, "significant": False,
           "verdict": "no difference shown", "undefined": reason, "n": int(y.size),
           "seeds_a": a.shape[0], "seeds_b": b.shape[0]}
    if reason is not None:
        return out
    weights = _draws(y.size, n_resamples, seed)
    deltas = _from_counts(metric, *_counts(weights, y, a))[0] - _from_counts(metric, *_counts(weights, y, b))[0]
    low, high = _percentiles(deltas)
    out.update(delta=value_a - value_b, low=low, high=high)
    if low is not None and (low > 0 or high < 0):
        out.update(significant=True, verdict="higher" if low > 0 else "lower")
    return out
