"""The metric registry of fraudft: every metric the project reports, scores and judges by.

    from fraudft.metrics.registry import METRICS, get_metric, metric_names
    metric_names("scores")                   # ("roc_auc", "average_precision", ...)
    m = get_metric("mcc")
    values, codes = m.fn(labels, predictions, np.ones((1, n)))   # the point value: one row of unit weights
    REASONS[int(codes[0])] if codes[0] else float(values[0])

A metric is a function of (labels y: (n,) bool, values v: (n,) bool 0/1 predictions or float P(fraud)
scores in [0, 1], example weights w: (B, n) float >= 0) returning (values (B,), codes (B,)): one value
per row of weights, NaN where the metric is undefined for that row and codes[i] the key of REASONS
saying why (0 = defined). fraudft.metrics.stats passes the draw counts of all bootstrap resamples at once
as the rows of w, so every function is vectorised over the rows: no Python loop over resamples.
Prediction metrics go through the weighted confusion counts, one matrix product; rank metrics sort
the examples once by score, group tied scores and take cumulative sums of the positive and negative
weights down the ranking. They match scikit-learn with sample_weight row by row (tests/metrics/test_metrics.py),
but scikit-learn takes one weight vector per call, and a 10,000-resample bootstrap cannot afford
10,000 calls: that is why they are written here by hand.

Adding a metric is one registered function (and its test): stats, and what reads the registry, pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from fraudft.core.registry import Registry

NEEDS = ("predictions", "scores")
REASONS: dict[int, str] = {  # code -> why a metric is undefined (0 = defined)
    1: "no positive prediction",
    2: "no positive label",
    3: "no positive label or prediction",
    4: "no negative label",
    5: "test labels of one class",
    6: "no example (all weights zero)",
}


@dataclass(frozen=True)
class Metric:
    name: str
    needs: Literal["predictions", "scores"]  # 0/1 predictions at the threshold, or P(fraud) scores in [0, 1]
    higher_is_better: bool
    fn: Callable  # fn(y, v, w) -> (values (B,), codes (B,)); see the module docstring
    description: str  # one line: what it tells a fraud team


METRICS: Registry[Metric] = Registry("metric")  # name -> Metric, in registration order


def register(name: str, needs: str, higher_is_better: bool, description: str):
    """Decorator registering fn(y, v, w) -> (values, codes) as metric `name`."""
    if name in METRICS:
        raise ValueError(f"metric {name!r} is already registered")
    if needs not in NEEDS:
        raise ValueError(f"needs: got {needs!r}, expected one of {', '.join(NEEDS)}")
    return METRICS.decorator(name, lambda fn: Metric(name, needs, bool(higher_is_better), fn, description))


def get_metric(name: str, option: str | None = None) -> Metric:
    """The registered metric `name`; else a UsageError (a ValueError) naming `option` where given, the
    registered names and the close matches first."""
    return METRICS.lookup(name, option)


def metric_names(needs: str | None = None) -> tuple[str, ...]:
    """Registered names, in registration order; only those needing `needs` ("predictions" or "scores") if given."""
    if needs is not None and needs not in NEEDS:
        raise ValueError(f"needs: got {needs!r}, expected one of {', '.join(NEEDS)} or None")
    return tuple(name for name, m in METRICS.items() if needs is None or m.needs == needs)


def _finish(values: np.ndarray, *rules: tuple[np.ndarray, int]) -> tuple[np.ndarray, np.ndarray]:
    """(values with NaN where undefined, codes); rules are (mask, code) pairs, a later one overriding."""
    codes = np.zeros(np.shape(values), int)
    for mask, code in rules:
        codes[mask] = code
    return np.where(codes == 0, values, np.nan), codes


# ---- prediction metrics: weighted confusion counts of every row at once ----------------------------

def _confusion(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted (tp, fp, fn, tn), each (B,) float64, from one matrix product of w with 0/1 columns."""
    y, p = np.asarray(y, bool), np.asarray(p, bool)
    columns = np.stack([np.ones_like(y), y, p, y & p], axis=1).astype(w.dtype)  # n x 4
    total, positives, predicted, tp = (w @ columns).astype(float).T
    fp, fn = predicted - tp, positives - tp
    return tp, fp, fn, total - tp - fp - fn


@register("precision", "predictions", True,
          "of the dialogues flagged as fraud, the share that are fraud: how much reviewer time goes to real cases")
def precision(y, p, w):
    tp, fp, fn, tn = _confusion(y, p, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish(tp / (tp + fp), (tp + fp == 0, 1))


@register("recall", "predictions", True,
          "of the fraud dialogues, the share flagged: how much fraud is caught at the 0.5 threshold")
def recall(y, p, w):
    tp, fp, fn, tn = _confusion(y, p, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish(tp / (tp + fn), (tp + fn == 0, 2))


@register("f1", "predictions", True,
          "harmonic mean of precision and recall at the 0.5 threshold: one number for catching fraud without flooding reviewers")
def f1(y, p, w):
    tp, fp, fn, tn = _confusion(y, p, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish(2 * tp / (2 * tp + fp + fn), ((tp + fn == 0) & (tp + fp == 0), 3))


@register("mcc", "predictions", True,
          "Matthews correlation of flags and truth at 0.5, from -1 to 1; 0 for a constant answer (the baseline to beat)")
def mcc(y, p, w):
    tp, fp, fn, tn = _confusion(y, p, w)
    pos, neg, pred_pos, pred_neg = tp + fn, fp + tn, tp + fp, fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (tp * tn - fp * fn) / np.sqrt(pos * neg * pred_pos * pred_neg)
    value = np.where((pred_pos == 0) | (pred_neg == 0), 0.0, value)  # a constant predictor scores 0, defined
    return _finish(value, ((pos == 0) | (neg == 0), 5))


@register("balanced_accuracy", "predictions", True,
          "mean of the fraud and non-fraud hit rates at 0.5: accuracy that a rare class cannot inflate; 0.5 is chance")
def balanced_accuracy(y, p, w):
    tp, fp, fn, tn = _confusion(y, p, w)
    pos, neg = tp + fn, fp + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish((tp / pos + tn / neg) / 2, (neg == 0, 4), (pos == 0, 2))


# ---- decision metrics: the ranking by P(fraud) --------------------------------------------------

def _cumsum_rows(a: np.ndarray) -> np.ndarray:
    """Cumulative sums down axis 0 of a C-ordered (m, B) array, in place.

    np.cumsum(axis=0) walks one element at a time (about 50 ms for 2,000 x 1,000 floats on the dev
    machine); adding whole rows, blocks of sqrt(m) rows at a time, runs vectorised over the B columns
    (the resamples) with about 2 sqrt(m) Python-level steps, each over many rows."""
    m = a.shape[0]
    if m < 2:
        return a
    size = max(1, int(np.sqrt(m)))
    blocks = m // size
    body = a[:blocks * size].reshape(blocks, size, *a.shape[1:])
    for i in range(1, size):  # within each block
        body[:, i] += body[:, i - 1]
    for j in range(1, blocks):  # carry each block's total into the next
        body[j] += body[j - 1, -1]
    for r in range(blocks * size, m):
        a[r] += a[r - 1]
    return a


def _cumulative(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows) + 1, B): row r holds, for every row of w, the weight of the first r examples of `rows`.

    A row gather of w.T, contiguous when w is Fortran-ordered (as fraudft.metrics.stats passes it)."""
    out = np.zeros((rows.size + 1, w.shape[0]), w.dtype)
    out[1:] = w.T[rows]
    _cumsum_rows(out[1:])
    return out


def _descending(y: np.ndarray, s: np.ndarray, w: np.ndarray, positive: bool):
    """One class ranked by score, highest first: (keys, cumulative) with keys = -score ascending, for
    np.searchsorted (searchsorted(keys, -t, "right") members score >= t, "left": > t), and
    cumulative (m + 1, B) from _cumulative."""
    rows = np.flatnonzero(y == positive)
    rows = rows[np.argsort(-s[rows], kind="stable")]
    return -s[rows], _cumulative(w, rows)


@register("roc_auc", "scores", True,
          "chance a random fraud dialogue scores above a random legitimate one: ranking quality at every threshold; 0.5 is chance")
def roc_auc(y, s, w):
    """Mann-Whitney: the weight of (positive, negative) pairs ranked right, ties counting half, over P N.

    The same area as sklearn's roc_auc_score (trapezoids under the ROC points), computed by ranking
    the smaller class only: its cumulative weights, read at each member of the other class."""
    y, s = np.asarray(y, bool), np.asarray(s, float)
    positives_small = y.sum() <= y.size / 2
    small = y if positives_small else ~y
    rows = np.flatnonzero(small)
    rows = rows[np.argsort(s[rows], kind="stable")]  # the smaller class, lowest score first
    ranked, other = s[rows], np.flatnonzero(~small)
    cumulative = _cumulative(w, rows)  # (m + 1, B)
    below = np.searchsorted(ranked, s[other], side="left")  # members of the small class scoring below
    tied = np.searchsorted(ranked, s[other], side="right") != below  # ...or tied with it (those count half)
    other_w = w.T[other]
    small_total, other_total = cumulative[-1].astype(float), other_w.sum(0, dtype=float)
    # float32 sums of integer counts are exact below 2**24: use them then (einsum is 4x faster in float32)
    exact = w.dtype == np.float64 or (2 * small_total * other_total).max(initial=0) < 2 ** 24
    dtype = w.dtype if exact else np.float64
    twice = 2 * np.einsum("ib,ib->b", other_w, cumulative[below], dtype=dtype).astype(float)
    if tied.any():  # + the tied members' weight: half a pair each, doubled
        ties = cumulative[np.searchsorted(ranked, s[other][tied], side="right")] - cumulative[below[tied]]
        twice += np.einsum("ib,ib->b", other_w[tied], ties, dtype=dtype)
    paired = twice / 2
    if positives_small:  # the pairs counted were (negative, positive below it): take the complement
        paired = small_total * other_total - paired
    pos, neg = (small_total, other_total) if positives_small else (other_total, small_total)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish(paired / (pos * neg), ((pos == 0) | (neg == 0), 5))


def _at_positive_thresholds(y, s, w):
    """(tp, fp, gained, P): at the threshold of each positive example's score, the positive and the
    negative weight scoring >= it, (m, B) each for m positives; gained: each positive's own weight.

    Enough for the PR metrics: recall only grows at a positive's score, and between two positives'
    scores precision only falls, so the PR points that can count are these."""
    y, s = np.asarray(y, bool), np.asarray(s, float)
    pos_keys, pos_cumulative = _descending(y, s, w, True)
    neg_keys, neg_cumulative = _descending(y, s, w, False)
    tp = pos_cumulative[np.searchsorted(pos_keys, pos_keys, side="right")]
    fp = neg_cumulative[np.searchsorted(neg_keys, pos_keys, side="right")]
    return tp, fp, np.diff(pos_cumulative, axis=0), pos_cumulative[-1].astype(float)


@register("average_precision", "scores", True,
          "PR-AUC: precision averaged over the recall gained at each threshold (sklearn's step sum); the fraud rate is chance")
def average_precision(y, s, w):
    """sum over thresholds of (recall gained) x precision: each positive's weight times the precision
    at its score, over P (sklearn's average_precision_score)."""
    tp, fp, gained, pos = _at_positive_thresholds(y, s, w)
    precision_at = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=gained > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish((gained * precision_at).sum(0, dtype=float) / pos, (pos == 0, 2))


def _recall_at_fpr(y, s, w, max_fpr: float):
    """TP(> v) / P, v the highest negative score with FP(>= v) / N > max_fpr: thresholds above v are
    those of FPR <= max_fpr, the lowest of them has the highest recall (the ROC point (0, 0), an
    infinite threshold, qualifies always). As sklearn's roc_curve(drop_intermediate=False) points."""
    y, s = np.asarray(y, bool), np.asarray(s, float)
    pos_keys, pos_cumulative = _descending(y, s, w, True)
    neg_keys, neg_cumulative = _descending(y, s, w, False)
    pos, neg = pos_cumulative[-1].astype(float), neg_cumulative[-1].astype(float)
    fp = neg_cumulative[np.searchsorted(neg_keys, neg_keys, side="right")]  # FP(>= each negative's score)
    with np.errstate(divide="ignore", invalid="ignore"):
        allowed = (fp / neg <= max_fpr).sum(0)  # FPR grows down the ranking: the first not allowed
        above = np.append(np.searchsorted(pos_keys, neg_keys, side="left"), pos_keys.size)  # positives above
        tp = pos_cumulative[above[allowed], np.arange(w.shape[0])]
        return _finish(tp / pos, ((pos == 0) | (neg == 0), 5))


@register("recall_at_1pct_fpr", "scores", True,
          "share of fraud caught at the best threshold flagging at most 1% of legitimate dialogues (a strict review budget)")
def recall_at_1pct_fpr(y, s, w):
    return _recall_at_fpr(y, s, w, 0.01)


@register("recall_at_5pct_fpr", "scores", True,
          "share of fraud caught at the best threshold flagging at most 5% of legitimate dialogues")
def recall_at_5pct_fpr(y, s, w):
    return _recall_at_fpr(y, s, w, 0.05)


@register("precision_at_90_recall", "scores", True,
          "share of flags that are fraud at the best threshold still catching 90% of fraud: the review load of high coverage")
def precision_at_90_recall(y, s, w):
    """The highest precision over thresholds of recall >= 0.9 (sklearn's precision_recall_curve points).

    With a positive, recall reaches 1 at the lowest threshold, so some threshold always qualifies."""
    tp, fp, gained, pos = _at_positive_thresholds(y, s, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision_at = np.where(tp / pos >= 0.9, tp / (tp + fp), -np.inf).max(0, initial=-np.inf)
        return _finish(precision_at, (pos == 0, 2))


@register("brier", "scores", False,
          "mean squared error of P(fraud) against the truth, 0 to 1, lower is better: accuracy and calibration together")
def brier(y, s, w):
    y, s = np.asarray(y, bool), np.asarray(s, float)
    columns = np.stack([np.ones_like(s), (s - y) ** 2], axis=1).astype(w.dtype)
    total, squared = (w @ columns).astype(float).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish(squared / total, (total == 0, 6))


ECE_BINS = 10


@register("ece", "scores", False,
          "expected calibration error, lower is better: how far P(fraud) is from the observed fraud rate, "
          "averaged over 10 equal-width score bins weighted by their size")
def ece(y, s, w):
    """sum over bins of |sum of w (s - y)| / sum of w: each bin's weight share times |mean score - fraud rate|.

    Bins as sklearn.calibration.calibration_curve's uniform strategy: edges np.linspace(0, 1, 11),
    each bin [lo, hi) and the last [0.9, 1]."""
    y, s = np.asarray(y, bool), np.asarray(s, float)
    edges = np.linspace(0, 1, ECE_BINS + 1)
    bins = np.searchsorted(edges[1:-1], s, side="right")
    columns = np.zeros((s.size, ECE_BINS + 1))
    columns[:, 0] = 1
    columns[np.arange(s.size), 1 + bins] = s - y
    sums = (w @ columns.astype(w.dtype)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finish(np.abs(sums[:, 1:]).sum(1) / sums[:, 0], (sums[:, 0] == 0, 6))
