"""The one bootstrap of fraudft: metric intervals and paired comparisons of arms, seeds inside the interval.

    from fraudft.metrics.stats import interval, compare, holm
    interval(labels, [seed0, seed1, seed2], "mcc")   # 0/1 predictions, or P(fraud) scores for a score metric
        # {"metric": "mcc", "value": .., "low": .., "high": .., "undefined": None, "seeds": 3, "n": 400,
        #  "n_resamples": 10000, "borderline": False}
    compare(labels, scores_a, scores_b, "roc_auc")
        # delta = roc_auc(a) - roc_auc(b), its interval, p_value, verdict "higher" | "lower" |
        # "no difference shown" (the sign of delta: metrics.get_metric(m).higher_is_better says which is good)
    holm([compare(...), compare(...), ...])        # a family of claims: Holm-adjusted verdicts
    # several arms on shared resamples (the slope on x, P(best), the draws): fraudft.metrics.several
    compare(labels, head, base, "mcc", margin=0.05)["p_worse"]
        # non-inferiority: the p of "a is worse than b by more than the margin" (see compare)
    compare_test_sets(labels_ood, runs_on_ood, labels_test, runs_on_test, "mcc", margin=0.1)
        # the same runs scored on two test sets (one seed draw for both; examples drawn per set)
    compare_unpaired(labels_new, runs_new, labels_old, runs_old, "mcc")
        # two groups of runs (e.g. two commits) on different test sets: every draw independent

Values are per test example, 2-D (seeds x examples) or 1-D (one seed); the metric's `needs` in
fraudft.metrics.registry decides whether they are 0/1 predictions or scores in [0, 1]. An arm's value is the
mean over its seeds of each seed's metric.

What is resampled, a two-level bootstrap (issue 18): each resample draws test examples with
replacement within each class (stratified: the test set's class counts in every resample), the same
draw for every arm compared (paired: both sides of compare, all arms of slope and p_best), and for
each arm draws k of its k seeds with replacement; the arm's value in the resample is the mean over
the drawn seeds of each seed's metric on the drawn examples. So seed-to-seed disagreement widens the interval (pooling seeds per example, as this module
did before, narrowed it), while k identical seeds give exactly the interval of one. A resample where
any arm's metric is undefined (no positive prediction drawn, say) is dropped. Intervals are 95%
percentile intervals, read at the order statistics that make "the interval excludes 0" and "the
two-sided p < 0.05" one and the same statement; p = 2 min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1),
capped at 1. With B = 10,000 draws a verdict still flips by Monte Carlo error when the one-sided p
lies within 2 of its standard errors of 0.025: such a result says "borderline": True.

Hand-written rather than scipy.stats.bootstrap: the resample is two-level and shared across arms with
different seed counts, undefined resamples are dropped rather than turned into a NaN interval, and
every metric of fraudft.metrics.registry takes the draw counts of a thousand resamples at once (a matrix
product for the confusion counts, cumulative sums down a ranking for the score metrics). Resamples
are processed CHUNK at a time so memory stays small (n x CHUNK float32 counts: 8 MB at n = 2,000).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from threadpoolctl import threadpool_limits

from fraudft.metrics import registry as metrics

B_DEFAULT = 10_000
CONFIDENCE = 0.95
ALPHA = 0.05  # two-sided; significant when p < ALPHA, i.e. when the 95% interval excludes 0
_TAIL = Fraction(1, 40)  # (1 - CONFIDENCE) / 2, exact: the order statistics must agree with p < ALPHA
CHUNK = 1000  # resamples drawn and scored at a time


def _labels(labels) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels: got shape {y.shape}, expected a non-empty 1-D sequence of 0/1")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels: expected only 0/1 (or False/True) values")
    return y.astype(bool)


def _values(values, n: int, metric: metrics.Metric, name: str) -> np.ndarray:
    """values as (seeds x examples): bool predictions or float scores, as the metric needs."""
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] != n or v.shape[0] == 0:
        raise ValueError(f"{name}: got shape {np.asarray(values).shape}, expected ({n},) or (seeds, {n})")
    if metric.needs == "predictions":
        if not np.isin(v, (0, 1)).all():
            raise ValueError(f"{name}: {metric.name} needs 0/1 predictions (or False/True), got other values")
        return v.astype(bool)
    if v.dtype.kind not in "biuf":
        raise ValueError(f"{name}: {metric.name} needs P(fraud) scores in [0, 1], got dtype {v.dtype}")
    v = v.astype(float)
    if not np.isfinite(v).all() or v.min() < 0 or v.max() > 1:
        raise ValueError(f"{name}: {metric.name} needs P(fraud) scores in [0, 1], got values in "
                         f"[{np.nanmin(v):g}, {np.nanmax(v):g}]" + ("" if np.isfinite(v).all() else " and non-finite ones"))
    return v


def _inputs(metric: str, labels, values, name: str = "values"):
    m = metrics.get_metric(metric)
    y = _labels(labels)
    return m, y, _values(values, y.size, m, name)


def _point(m: metrics.Metric, y: np.ndarray, v: np.ndarray) -> tuple[float | None, str | None]:
    """(mean over seeds of each seed's metric, None) or (None, why it is undefined)."""
    ones = np.ones((1, y.size))
    per_seed = []
    for i, seed_values in enumerate(v):
        value, code = m.fn(y, seed_values, ones)
        if code[0]:
            return None, metrics.REASONS[int(code[0])] + (f" (seed {i})" if len(v) > 1 else "")
        per_seed.append(float(value[0]))
    return float(np.mean(per_seed)), None


def metric_value(metric: str, labels, values) -> float | None:
    """The metric of one seed's values, or the mean over seeds of each seed's (2-D); None where undefined."""
    m, y, v = _inputs(metric, labels, values)
    return _point(m, y, v)[0]


def undefined_reason(metric: str, labels, values) -> str | None:
    """Why the metric is undefined here (e.g. "no positive prediction"), or None when it is defined."""
    m, y, v = _inputs(metric, labels, values)
    return _point(m, y, v)[1]


def _resamples(y: np.ndarray, n_resamples: int, seed: int, seeds_per_arm: tuple[int, ...]):
    """Chunks (w, [S per arm]) of the two-level bootstrap, for examples sorted by label (negatives first).

    w: (rows, n) float32 draw counts, Fortran-ordered (a row gather of w.T is contiguous), each class
    drawn within itself; S: (rows, k) multinomial counts of each of an arm's k seeds. The example draws
    come from a stream of their own, so they do not depend on how many seeds the arms have.

    Callers hold BLAS to one thread meanwhile: the metrics' matrix products are thin (n x 4), one
    thread does them as fast as two, and on a shared 2-core machine two were 3-8x slower."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples: got {n_resamples}, expected >= 1")
    streams = np.random.SeedSequence(seed).spawn(1 + len(seeds_per_arm))
    examples, arms = np.random.default_rng(streams[0]), [np.random.default_rng(s) for s in streams[1:]]
    sizes = (int((~y).sum()), int(y.sum()))
    for start in range(0, n_resamples, CHUNK):
        rows = min(CHUNK, n_resamples - start)
        counts = np.empty((y.size, rows), np.float32)  # exact: a count is at most the class size
        offset = 0
        for size in sizes:
            if size:
                drawn = examples.integers(0, size, (rows, size))
                drawn *= rows
                drawn += np.arange(rows)[:, None]  # flat index example * rows + resample
                counts[offset:offset + size] = np.bincount(drawn.ravel(), minlength=size * rows).reshape(size, rows)
            offset += size
        draws = [np.ones((rows, 1)) if k == 1 else rng.multinomial(k, np.full(k, 1 / k), size=rows)
                 for rng, k in zip(arms, seeds_per_arm)]
        yield counts.T, draws


def _arm(m: metrics.Metric, y: np.ndarray, v: np.ndarray, w: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """(rows,) the arm's value in each resample: the draw-weighted mean of its seeds' metrics (NaN if a
    drawn seed's metric is undefined there)."""
    per_seed = np.stack([m.fn(y, seed_values, w)[0] for seed_values in v])  # (k, rows)
    if len(v) == 1:
        return per_seed[0]
    draws = draws.T
    # as the first drawn seed's value plus the others' differences from it, so that identical seeds give
    # exactly one seed's value (a rounding difference would break exact ties between arms)
    first = per_seed[np.argmax(draws > 0, axis=0), np.arange(per_seed.shape[1])]
    return first + np.where(draws > 0, draws * (per_seed - first), 0.0).sum(0) / len(v)


def _replicate_rows(m: metrics.Metric, y: np.ndarray, arms, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, arms) each arm's value in each resample, NaN where undefined: the same example draws
    for every arm (paired), each arm's seeds drawn from a stream of its own. y and every arm's values
    (seeds x n) sorted by label (_sorted_by_label)."""
    with threadpool_limits(1, user_api="blas"):  # see _resamples
        return np.concatenate([np.column_stack([_arm(m, y, v, w, d) for v, d in zip(arms, draws)])
                               for w, draws in _resamples(y, n_resamples, seed, tuple(v.shape[0] for v in arms))])


def _sorted_by_label(y: np.ndarray, *values: np.ndarray):
    order = np.argsort(y, kind="stable")
    return (y[order], *(v[:, order] for v in values))


def _order_statistic(size: int) -> int:
    """Index (0-based, ascending) of the lower bound among `size` sorted resamples; -1: too few for one.

    low > 0 exactly when (#{d* <= 0} + 1) / (size + 1) < 0.025, the one-sided half of p < ALPHA."""
    return math.ceil(_TAIL * (size + 1)) - 2


def _bounds(values: np.ndarray) -> tuple[float | None, float | None]:
    j = _order_statistic(values.size)
    if j < 0:
        return None, None
    ordered = np.sort(values)
    return float(ordered[j]), float(ordered[values.size - 1 - j])


def _borderline(p_one_sided: float, resamples: int, alpha: float = ALPHA) -> bool:
    """Whether the verdict could flip by Monte Carlo error: the one-sided p within 2 of its standard
    errors, sqrt(t (1 - t) / B), of its threshold t = alpha / 2 (for Holm: alpha over the multiplier)."""
    threshold = alpha / 2
    return bool(abs(p_one_sided - threshold) < 2 * math.sqrt(threshold * (1 - threshold) / resamples))


def interval(labels, values, metric: str, n_resamples: int = B_DEFAULT, seed: int = 0) -> dict:
    """95% two-level bootstrap interval of an arm's metric (mean over its seeds, the rows of values).

    Returns {"metric", "value", "low", "high", "undefined", "seeds", "n", "n_resamples", "borderline"};
    value, low and high are None when the metric is undefined on the test set itself (`undefined`
    says why); low and high are None too when fewer than 39 resamples are defined. borderline is
    always False (it concerns verdicts: see compare)."""
    m, y, v = _inputs(metric, labels, values)
    value, reason = _point(m, y, v)
    out = {"metric": metric, "value": value, "low": None, "high": None, "undefined": reason,
           "seeds": v.shape[0], "n": int(y.size), "n_resamples": int(n_resamples), "borderline": False}
    if reason is None:
        y, v = _sorted_by_label(y, v)
        with threadpool_limits(1, user_api="blas"):  # see _resamples
            chunks = [_arm(m, y, v, w, draws[0]) for w, draws in _resamples(y, n_resamples, seed, (v.shape[0],))]
        values_ = np.concatenate(chunks)
        out["low"], out["high"] = _bounds(values_[~np.isnan(values_)])
    return out


def compare(labels, values_a, values_b, metric: str, n_resamples: int = B_DEFAULT, seed: int = 0,
            margin: float | None = None) -> dict:
    """Paired two-level bootstrap of metric(a) - metric(b) on one test set (each side the mean over its seeds).

    Returns {"metric", "delta", "low", "high", "p_value", "significant", "verdict", "borderline",
    "undefined", "n", "seeds_a", "seeds_b", "n_resamples"}. significant: p_value < 0.05, the same as
    the 95% interval excluding 0; verdict: "higher" (a above b), "lower" or "no difference shown";
    borderline: the verdict could flip with other bootstrap draws. Where the metric is undefined for
    a side on the test set, delta, low, high and p_value are None and `undefined` says why ("a: ...").

    With a margin (>= 0, in the metric's units) the result also has "margin" and "p_worse", the
    bootstrap test of H0 "a is no worse than b by more than the margin" against H1 "a is worse by
    more than the margin" (delta < -margin, or > +margin where lower is better):
    p_worse = min(1, 2 (#{d* on the H0 side of the margin} + 1) / (B + 1)), twice the one-sided p,
    so that, as for p_value, p_worse < 0.05 exactly when the 95% interval lies wholly beyond the
    margin (one-sided level 0.025), and holm() adjusts it like a p_value. None where undefined."""
    if margin is not None and not margin >= 0:
        raise ValueError(f"margin: got {margin}, expected a number >= 0 in the metric's units")
    m = metrics.get_metric(metric)
    y = _labels(labels)
    a, b = _values(values_a, y.size, m, "values_a"), _values(values_b, y.size, m, "values_b")
    (value_a, reason_a), (value_b, reason_b) = _point(m, y, a), _point(m, y, b)
    reason = f"a: {reason_a}" if reason_a else (f"b: {reason_b}" if reason_b else None)
    out = {"metric": metric, "delta": None, "low": None, "high": None, "p_value": None, "significant": False,
           "verdict": "no difference shown", "borderline": False, "undefined": reason, "n": int(y.size),
           "seeds_a": a.shape[0], "seeds_b": b.shape[0], "n_resamples": int(n_resamples)}
    if margin is not None:
        out.update(margin=float(margin), p_worse=None)
    if reason is not None:
        return out
    y, a, b = _sorted_by_label(y, a, b)
    rows = _replicate_rows(m, y, (a, b), n_resamples, seed)
    deltas = rows[:, 0] - rows[:, 1]
    deltas = deltas[~np.isnan(deltas)]
    out["delta"] = value_a - value_b
    if deltas.size == 0:  # every resample undefined on a side: no interval, no verdict
        return out
    out.update(_judge(deltas))
    if margin is not None:
        within = deltas >= -margin if m.higher_is_better else deltas <= margin  # H0's side, ties included
        out["p_worse"] = float(min(1.0, 2 * (np.count_nonzero(within) + 1) / (deltas.size + 1)))
    return out


def compare_test_sets(labels_a, values_a, labels_b, values_b, metric: str, n_resamples: int = B_DEFAULT,
                     seed: int = 0, margin: float | None = None) -> dict:
    """Unpaired two-level bootstrap of metric(a) - metric(b) where a and b are the same seeds' runs
    scored on two different test sets (e.g. an out-of-distribution set against the in-domain split).

    Each resample draws each set's examples within each class of that set (stratified), independently
    of the other set (unpaired: no example is in both), and draws k of the k seeds with replacement,
    the same seed draw for both sets (a seed is one adapter, scored on both). values_a (seeds x n_a)
    and values_b (seeds x n_b) hold the seeds in the same order. Returns what compare() returns
    (delta, low, high, p_value, verdict, ..., with n_a and n_b instead of n), margin and p_worse too
    when a margin is given; where the metric is undefined on a set, delta..p_value are None and
    `undefined` says why ("a: ..."). Raises ValueError on mismatched shapes or seed counts."""
    if margin is not None and not margin >= 0:
        raise ValueError(f"margin: got {margin}, expected a number >= 0 in the metric's units")
    m = metrics.get_metric(metric)
    ya, yb = _labels(labels_a), _labels(labels_b)
    a, b = _values(values_a, ya.size, m, "values_a"), _values(values_b, yb.size, m, "values_b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"values_b: got {b.shape[0]} seeds, expected the {a.shape[0]} of values_a (the same runs)")
    (value_a, reason_a), (value_b, reason_b) = _point(m, ya, a), _point(m, yb, b)
    reason = f"a: {reason_a}" if reason_a else (f"b: {reason_b}" if reason_b else None)
    out = {"metric": metric, "delta": None, "low": None, "high": None, "p_value": None, "significant": False,
           "verdict": "no difference shown", "borderline": False, "undefined": reason, "n_a": int(ya.size),
           "n_b": int(yb.size), "seeds": a.shape[0], "n_resamples": int(n_resamples), "paired": False}
    if margin is not None:
        out.update(margin=float(margin), p_worse=None)
    if reason is not None:
        return out
    (ya, a), (yb, b) = _sorted_by_label(ya, a), _sorted_by_label(yb, b)
    streams = np.random.SeedSequence(seed).spawn(2)  # one example stream per set: independent draws
    seeds_a, seeds_b = (int(s.generate_state(1)[0]) for s in streams)
    chunks = []
    with threadpool_limits(1, user_api="blas"):  # see _resamples
        for (wa, draws), (wb, _) in zip(_resamples(ya, n_resamples, seeds_a, (a.shape[0],)),
                                        _resamples(yb, n_resamples, seeds_b, ())):
            chunks.append(_arm(m, ya, a, wa, draws[0]) - _arm(m, yb, b, wb, draws[0]))  # the same seed draw
    deltas = np.concatenate(chunks)
    deltas = deltas[~np.isnan(deltas)]
    out["delta"] = value_a - value_b
    if deltas.size == 0:
        return out
    out.update(_judge(deltas))
    if margin is not None:
        within = deltas >= -margin if m.higher_is_better else deltas <= margin
        out["p_worse"] = float(min(1.0, 2 * (np.count_nonzero(within) + 1) / (deltas.size + 1)))
    return out


def compare_unpaired(labels_a, values_a, labels_b, values_b, metric: str, n_resamples: int = B_DEFAULT,
                     seed: int = 0) -> dict:
    """metric(a) - metric(b) where a and b were scored on different test sets: each side resampled on
    its own (its examples within each label, its seeds), the i-th draws subtracted, judged as compare()
    judges (a resample undefined on either side dropped). Returns compare()'s keys, "n" as (n_a, n_b)."""
    m = metrics.get_metric(metric)
    sides = [(y, _values(v, y.size, m, name)) for y, v, name in
             ((_labels(labels_a), values_a, "values_a"), (_labels(labels_b), values_b, "values_b"))]
    (value_a, reason_a), (value_b, reason_b) = (_point(m, y, v) for y, v in sides)
    out = {"metric": metric, "delta": None, "low": None, "high": None, "p_value": None, "significant": False,
           "verdict": "no difference shown", "borderline": False, "n": tuple(int(y.size) for y, _ in sides),
           "undefined": f"a: {reason_a}" if reason_a else (f"b: {reason_b}" if reason_b else None),
           "seeds_a": sides[0][1].shape[0], "seeds_b": sides[1][1].shape[0], "n_resamples": int(n_resamples)}
    if out["undefined"] is None:
        draws = []
        for side, (y, v) in enumerate(sides):  # independent streams: the sides share no example
            y, v = _sorted_by_label(y, v)
            draws.append(_replicate_rows(m, y, (v,), n_resamples, [seed, side])[:, 0])
        deltas = draws[0] - draws[1]
        out["delta"] = value_a - value_b
        if np.count_nonzero(~np.isnan(deltas)):
            out.update(_judge(deltas[~np.isnan(deltas)]))
    return out


def _judge(deltas: np.ndarray) -> dict:
    """low, high, p_value, significant, verdict and borderline of the defined resampled differences."""
    low, high = _bounds(deltas)
    p_low = (np.count_nonzero(deltas <= 0) + 1) / (deltas.size + 1)  # small when a is above b
    p_high = (np.count_nonzero(deltas >= 0) + 1) / (deltas.size + 1)
    p_value = min(1.0, 2 * min(p_low, p_high))
    significant = p_value < ALPHA
    return {"low": low, "high": high, "p_value": float(p_value), "significant": significant,
            "verdict": ("higher" if p_low < p_high else "lower") if significant else "no difference shown",
            "borderline": _borderline(min(p_low, p_high), deltas.size)}


def holm(results: list[dict], alpha: float = ALPHA) -> list[dict]:
    """Holm's step-down adjustment of a family of compare() results, at family-wise level alpha.

    Returns copies, in the same order, with "p_adjusted" and the adjusted "significant", "verdict"
    and "borderline" (judged against the adjusted threshold); results without a p_value (undefined)
    pass through unchanged."""
    tested = sorted((i for i, r in enumerate(results) if r.get("p_value") is not None),
                    key=lambda i: results[i]["p_value"])
    out = [dict(r) for r in results]
    running = 0.0
    for rank, i in enumerate(tested):
        r = out[i]
        running = max(running, min(1.0, (len(tested) - rank) * r["p_value"]))  # step-down: never decreases
        significant = running < alpha
        direction = r["verdict"]
        if direction == "no difference shown":  # only reachable with alpha above the unadjusted level
            direction = "higher" if r["delta"] > 0 else "lower" if r["delta"] < 0 else direction
        multiplier = running / r["p_value"] if r["p_value"] > 0 else len(tested) - rank
        r.update(p_adjusted=running, significant=significant,
                 verdict=direction if significant else "no difference shown",
                 borderline=_borderline(r["p_value"] / 2, r["n_resamples"], alpha / multiplier))
    return out


def point_values(labels, predictions, scores=None) -> dict[str, dict]:
    """{metric: {"value", "undefined"}} of every registered metric for one run (no interval):
    predictions (n,) 0/1, scores (n,) P(fraud) or None (then each score metric says "no scores")."""
    out = {}
    for name, metric in metrics.METRICS.items():
        values = predictions if metric.needs == "predictions" else scores
        if values is None:
            out[name] = {"value": None, "undefined": "no scores (generate mode)"}
        else:
            out[name] = {"value": metric_value(name, labels, values), "undefined": undefined_reason(name, labels, values)}
    return out

