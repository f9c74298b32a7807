"""Claims about several arms at once, on bootstrap resamples they all share (fraudft.metrics.stats'
two-level, stratified, paired draw, extended from two arms to any number).

    from fraudft.metrics.several import p_best, replicates, slope
    slope(labels, {x: values, ...}, "mcc")         # the least-squares slope of the metric on x
    p_best(labels, {name: values, ...}, "mcc")     # each arm's P(best)
    replicates(labels, {name: values, ...}, "mcc") # the points and the per-resample draws themselves
"""

from __future__ import annotations

import numpy as np

from fraudft.metrics import registry as metrics

# The one bootstrap's own steps (fraudft.metrics.stats), shared so that these claims resample exactly
# as compare() does.
from fraudft.metrics.stats import B_DEFAULT, _judge, _labels, _point, _replicate_rows, _sorted_by_label, _values


def _several(labels, arms: dict, metric: str, n_resamples: int, seed: int):
    """(metric, {name: point value or None}, why undefined or None, draws (kept resamples x arms))."""
    if len(arms) == 0:
        raise ValueError("arms: got none, expected {name: values} of at least one arm")
    m, y = metrics.get_metric(metric), _labels(labels)
    values = [_values(v, y.size, m, f"arms[{name!r}]") for name, v in arms.items()]
    points, reason = {}, None
    for name, v in zip(arms, values):
        points[name], why = _point(m, y, v)
        reason = reason or (f"{name}: {why}" if why else None)
    if reason is not None:
        return m, points, reason, np.empty((0, len(arms)))
    y, *values = _sorted_by_label(y, *values)
    rows = _replicate_rows(m, y, values, n_resamples, seed)
    return m, points, None, rows[~np.isnan(rows).any(axis=1)]


def replicates(labels, arms: dict, metric: str, n_resamples: int = B_DEFAULT, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Several arms bootstrapped on the same resamples: the example draws shared by every arm (paired,
    stratified), each arm's seeds drawn on their own, as compare() does for two.

    arms: {name: values (n,) or (seeds, n)}. Returns (points, draws): points {name: the arm's value on
    the test set (mean over its seeds), None where undefined}; draws (kept resamples, arms), columns in
    the order of arms, each row an arm's value per resample, the resamples where any arm's metric is
    undefined dropped (none kept when an arm is undefined on the test set itself)."""
    _, points, _, draws = _several(labels, arms, metric, n_resamples, seed)
    return points, draws


def slope(labels, arms: dict, metric: str, n_resamples: int = B_DEFAULT, seed: int = 0) -> dict:
    """Paired bootstrap of the least-squares slope of the metric on x, the keys of arms ({x: values};
    the sweep passes log2(alpha/r), so the slope is per doubling): one claim about all the arms at once,
    where neighbour-by-neighbour comparisons each see one step's worth of the effect.

    Returns {"metric", "slope", "low", "high", "p_value", "significant", "verdict", "borderline",
    "undefined", "arms", "n", "n_resamples"}: the slope of the arms' values, its 95% interval and p over
    replicates()'s resamples, exactly as compare() judges a difference; verdict "increasing" |
    "decreasing" | "no trend shown", of the metric's value (for a lower-is-better metric, increasing is
    worse). Where an arm is undefined on the test set, slope..p_value are None and `undefined` says why."""
    x = np.array([float(k) for k in arms])
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError(f"arms: got x = {list(arms)}, expected at least 2 distinct x")
    m, points, reason, draws = _several(labels, arms, metric, n_resamples, seed)
    weights = (x - x.mean()) / ((x - x.mean()) ** 2).sum()  # slope = weights . values
    out = {"metric": metric, "slope": None, "low": None, "high": None, "p_value": None, "significant": False,
           "verdict": "no trend shown", "borderline": False, "undefined": reason, "arms": len(arms),
           "n": int(np.asarray(labels).size), "n_resamples": int(n_resamples)}
    if reason is not None:
        return out
    values = np.array(list(points.values()))
    out["slope"] = float((values - values[0]) @ weights)  # differences first: equal arms give exactly 0
    if draws.shape[0]:
        out.update(_judge((draws - draws[:, :1]) @ weights))
        out["significant"] = bool(out["significant"])
        out["verdict"] = {"higher": "increasing", "lower": "decreasing"}.get(out["verdict"], "no trend shown")
    return out


def p_best(labels, arms: dict, metric: str, n_resamples: int = B_DEFAULT, seed: int = 0) -> dict:
    """{name: the probability that the arm is the best across replicates()'s resamples}: highest, or
    lowest for a metric where lower is better; an exact tie shares the resample evenly, so the
    probabilities sum to 1. None for every arm when no resample is defined for all of them."""
    m, _, _, draws = _several(labels, arms, metric, n_resamples, seed)
    if draws.shape[0] == 0:
        return dict.fromkeys(arms)
    best = draws == (draws.max(axis=1) if m.higher_is_better else draws.min(axis=1))[:, None]
    shares = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    return {name: float(share) for name, share in zip(arms, shares)}
