"""Flip rates: how often one adapter's answer changes between a test set and its counterfactual.

    from fraudft.metrics.flips import flip_rate, directional
    flip_rate(labels, original_predictions, changed_predictions, n_resamples=10_000, seed=0,
              original_scores=None, changed_scores=None)
        # {"value", "low", "high", "flips", "n", "seeds", "n_resamples", "by_label", "to_fraud",
        #  "to_not_fraud", "mean_delta_p": {"value", "low", "high"} | None}
    directional(labels, original_scores, changed_scores, changed)   # a directional set: P(fraud) must not fall
        # {"value" (share of changed examples whose P(fraud) fell), "low", "high", "violations", "changed", ...}

The bootstrap is fraudft.metrics.stats's (the same stratified example draws, seeds drawn too), applied to a
per-example quantity: whether the answer flipped, and the change of P(fraud).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from fraudft.metrics import registry as metrics
from fraudft.metrics.stats import B_DEFAULT, _bounds, _labels, _resamples, _values


def flip_rate(labels, original, changed, n_resamples: int = B_DEFAULT, seed: int = 0,
              original_scores=None, changed_scores=None) -> dict:
    """The share of test examples whose 0/1 prediction changed between two evaluations of the same
    examples (a counterfactual test set against the original), with its 95% bootstrap interval.

    labels (n,); original, changed: 0/1 predictions, (n,) or (seeds, n) with the same seeds in the
    same order; original_scores, changed_scores: P(fraud) alike, or None. The bootstrap is this
    module's: examples drawn within each label (stratified), the same draws for both evaluations
    (paired: an example's flip is one quantity), and an arm's seeds drawn with replacement; the value
    is the mean over seeds of each seed's flip rate.

    Returns {"value", "low", "high", "flips" (changed predictions, all seeds), "n", "seeds",
    "n_resamples", "by_label": {"fraud": share, "not_fraud": share}, "to_fraud", "to_not_fraud"
    (flips in each direction, all seeds), "mean_delta_p": {"value", "low", "high"} of the mean of
    P(fraud) changed - original, or None without scores}. Raises ValueError on mismatched shapes."""
    y = _labels(labels)
    prediction = metrics.get_metric("mcc")  # any prediction metric: checks 0/1 values
    a, b = _values(original, y.size, prediction, "original"), _values(changed, y.size, prediction, "changed")
    if a.shape != b.shape:
        raise ValueError(f"changed: got shape {b.shape}, expected the shape of original {a.shape}")
    flips = (a != b).astype(float)
    quantities = {"flip": flips}
    if (original_scores is None) != (changed_scores is None):
        raise ValueError("original_scores, changed_scores: give both or neither")
    if original_scores is not None:
        score = metrics.get_metric("roc_auc")
        sa, sb = (_values(s, y.size, score, name) for s, name in ((original_scores, "original_scores"),
                                                                  (changed_scores, "changed_scores")))
        if sa.shape != a.shape or sb.shape != a.shape:
            raise ValueError(f"scores: expected the shape of the predictions {a.shape}")
        quantities["delta_p"] = sb - sa
    order = np.argsort(y, kind="stable")
    ys = y[order]
    k = a.shape[0]
    drawn = {name: [] for name in quantities}
    with threadpool_limits(1, user_api="blas"):
        for w, draws in _resamples(ys, n_resamples, seed, (k,)):
            seed_weights = draws[0] / k  # (rows, k): each seed's share of the draw
            for name, q in quantities.items():
                per_seed = w @ q[:, order].T / y.size  # (rows, k): each seed's mean on the drawn examples
                drawn[name].append((per_seed * seed_weights).sum(axis=1))

    def summary(name: str) -> dict:
        low, high = _bounds(np.concatenate(drawn[name]))
        return {"value": float(quantities[name].mean()), "low": low, "high": high}

    out = {**summary("flip"), "flips": int(flips.sum()), "n": int(y.size), "seeds": k, "n_resamples": int(n_resamples),
           "by_label": {"fraud": float(flips[:, y].mean()) if y.any() else None,
                        "not_fraud": float(flips[:, ~y].mean()) if (~y).any() else None},
           "to_fraud": int((~a & b).sum()), "to_not_fraud": int((a & ~b).sum()), "mean_delta_p": None}
    if "delta_p" in quantities:
        out["mean_delta_p"] = summary("delta_p")
    return out


def directional(labels, original_scores, changed_scores, changed, n_resamples: int = B_DEFAULT, seed: int = 0) -> dict:
    """A directional test (CheckList): over the examples a directional set changed, the share whose
    P(fraud) FELL (changed < original: a violation when the change should raise it), with its 95%
    interval, and the mean change of P(fraud) there.

    labels (n,); original_scores, changed_scores: P(fraud), (n,) or (seeds, n); changed: (n,) bools,
    the examples the set rewrote (the others are left out: they cannot move). The bootstrap is
    flip_rate's, run on the changed examples with "fell" as the 0/1 answer that "flips" from 0 (so the
    same stratified, seed-resampled draws). Returns {"value", "low", "high", "violations" (all seeds),
    "changed" (examples), "seeds", "n_resamples", "mean_delta_p": {"value", "low", "high"}}; value..high
    None and "undefined" when no example changed."""
    keep = np.asarray(changed, dtype=bool)
    y = _labels(labels)
    if keep.shape != y.shape:
        raise ValueError(f"changed: got shape {keep.shape}, expected one flag per label {y.shape}")
    score = metrics.get_metric("roc_auc")
    sa = _values(original_scores, y.size, score, "original_scores")
    sb = _values(changed_scores, y.size, score, "changed_scores")
    if sa.shape != sb.shape:
        raise ValueError(f"changed_scores: got shape {sb.shape}, expected that of original_scores {sa.shape}")
    out = {"value": None, "low": None, "high": None, "violations": 0, "changed": int(keep.sum()), "seeds": sa.shape[0],
           "n_resamples": int(n_resamples), "mean_delta_p": None, "undefined": None}
    if not keep.any():
        return {**out, "undefined": "no record changed"}
    sa, sb = sa[:, keep], sb[:, keep]
    fell = (sb < sa).astype(int)
    flips = flip_rate(y[keep], np.zeros_like(fell), fell, n_resamples=n_resamples, seed=seed,
                      original_scores=sa, changed_scores=sb)
    return {**out, "value": flips["value"], "low": flips["low"], "high": flips["high"], "violations": int(fell.sum()),
            "mean_delta_p": flips["mean_delta_p"]}
