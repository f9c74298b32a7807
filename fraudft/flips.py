"""Flip rates: how often one adapter's answer changes between a test set and its counterfactual.

    from fraudft.flips import flip_rate
    flip_rate(labels, original_predictions, changed_predictions, n_resamples=10_000, seed=0,
              original_scores=None, changed_scores=None)
        # {"value", "low", "high", "flips", "n", "seeds", "n_resamples", "by_label", "to_fraud",
        #  "to_not_fraud", "mean_delta_p": {"value", "low", "high"} | None}

The bootstrap is fraudft.stats's (the same stratified example draws, seeds drawn too), applied to a
per-example quantity: whether the answer flipped, and the change of P(fraud).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from fraudft import metrics
from fraudft.stats import B_DEFAULT, _bounds, _labels, _resamples, _values


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
