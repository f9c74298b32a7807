"""fraudft.metrics.stats: point values, the two-level bootstrap (stratified, paired, seeds resampled), p-values
consistent with the intervals, Holm, borderline verdicts, and a simulation of equal arms with seed noise."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from fraudft.metrics import registry as metrics
from fraudft.metrics import several, stats

N = 200
B = 1000  # resamples in most tests: enough for the properties checked, and fast
RNG = np.random.default_rng(1)
LABELS = RNG.integers(0, 2, N)
A = np.where(RNG.random(N) < 0.80, LABELS, 1 - LABELS)  # ~80% right
B_ARM = np.where(RNG.random(N) < 0.72, LABELS, 1 - LABELS)  # ~72% right
SCORES = np.round(np.clip(0.5 + (LABELS - 0.5) * 0.4 + RNG.normal(0, 0.25, N), 0, 1), 2)  # ties too
SKLEARN = {"precision": precision_score, "recall": recall_score, "f1": f1_score, "mcc": matthews_corrcoef,
           "balanced_accuracy": balanced_accuracy_score, "roc_auc": roc_auc_score,
           "average_precision": average_precision_score, "brier": brier_score_loss}


def _values(metric, seed=0):
    """One seed's values of the kind the metric needs: predictions or scores."""
    rng = np.random.default_rng(seed)
    if metrics.get_metric(metric).needs == "predictions":
        return np.where(rng.random(N) < 0.8, LABELS, 1 - LABELS)
    return np.clip(SCORES + rng.normal(0, 0.05, N), 0, 1)


@pytest.mark.parametrize("metric", list(SKLEARN))
def test_metric_value_matches_sklearn(metric):
    values = _values(metric)
    assert stats.metric_value(metric, LABELS, values) == pytest.approx(SKLEARN[metric](LABELS, values))
    assert stats.undefined_reason(metric, LABELS, values) is None


@pytest.mark.parametrize("metric", metrics.metric_names())
def test_seeds_give_the_mean_of_each_seeds_value(metric):
    seeds = np.stack([_values(metric, s) for s in range(3)])
    each = [stats.metric_value(metric, LABELS, s) for s in seeds]
    assert stats.metric_value(metric, LABELS, seeds) == pytest.approx(np.mean(each))
    assert stats.interval(LABELS, seeds, metric, n_resamples=200)["value"] == pytest.approx(np.mean(each))


@pytest.mark.parametrize("constant", [0, 1])
def test_mcc_of_a_constant_predictor_is_zero(constant):
    predictions = np.full(N, constant)
    assert stats.metric_value("mcc", LABELS, predictions) == 0.0
    assert stats.undefined_reason("mcc", LABELS, predictions) is None
    result = stats.interval(LABELS, predictions, "mcc", n_resamples=B)
    assert (result["value"], result["low"], result["high"], result["undefined"]) == (0.0, 0.0, 0.0, None)
    assert stats.compare(LABELS, A, predictions, "mcc", n_resamples=B)["verdict"] == "higher"  # a model beats it


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
    assert stats.undefined_reason("roc_auc", np.ones(N, int), SCORES) == "test labels of one class"
    assert stats.undefined_reason("average_precision", no_positive, SCORES) == "no positive label"
    assert stats.undefined_reason("precision", LABELS, [A, none_predicted]) == "no positive prediction (seed 1)"
    result = stats.interval(LABELS, none_predicted, "precision", n_resamples=B)
    assert result == {"metric": "precision", "value": None, "low": None, "high": None, "undefined": "no positive prediction",
                      "seeds": 1, "n": N, "n_resamples": B, "borderline": False}
    compared = stats.compare(LABELS, A, none_predicted, "precision", n_resamples=B)
    assert compared["delta"] is None and compared["p_value"] is None and not compared["significant"]
    assert compared["verdict"] == "no difference shown" and compared["undefined"] == "b: no positive prediction"


def test_interval_holds_the_value_and_is_reproducible():
    result = stats.interval(LABELS, A, "f1", n_resamples=B, seed=3)
    assert result["low"] < result["value"] < result["high"] and result["seeds"] == 1 and result["n"] == N
    assert set(result) == {"metric", "value", "low", "high", "undefined", "seeds", "n", "n_resamples", "borderline"}
    assert stats.interval(LABELS, A, "f1", n_resamples=B, seed=3) == result
    assert stats.interval(LABELS, [A], "f1", n_resamples=B, seed=3) == result  # 1-D is one seed
    assert stats.interval(LABELS, A, "f1", n_resamples=B, seed=4) != result
    auc = stats.interval(LABELS, SCORES, "roc_auc", n_resamples=B)
    assert auc["low"] < auc["value"] < auc["high"] and auc["value"] == pytest.approx(roc_auc_score(LABELS, SCORES))


def test_resamples_are_stratified():
    y = np.sort(LABELS.astype(bool))  # _resamples takes examples sorted by label
    for w, draws in stats._resamples(y, 2500, 0, (3, 1)):
        assert w.shape[1] == N and np.all(w[:, y].sum(1) == y.sum()) and np.all(w[:, ~y].sum(1) == (~y).sum())
        assert draws[0].shape == (w.shape[0], 3) and np.all(draws[0].sum(1) == 3) and np.all(draws[1] == 1)


@pytest.mark.parametrize("metric", ["f1", "mcc", "roc_auc", "brier"])
def test_identical_seeds_give_the_one_seed_interval(metric):
    one = _values(metric)
    single, tripled = (stats.interval(LABELS, v, metric, n_resamples=B) for v in (one, [one] * 3))
    assert (tripled["value"], tripled["low"], tripled["high"]) == pytest.approx((single["value"], single["low"], single["high"]))
    other = _values(metric, 5)
    pair = stats.compare(LABELS, one, other, metric, n_resamples=B)
    pairs = stats.compare(LABELS, [one] * 3, [other] * 2, metric, n_resamples=B)
    assert (pairs["low"], pairs["high"]) == pytest.approx((pair["low"], pair["high"]))
    assert (pairs["p_value"], pairs["verdict"]) == (pair["p_value"], pair["verdict"])
    assert (pairs["seeds_a"], pairs["seeds_b"]) == (3, 2)


def test_a_disagreeing_seed_widens_the_interval():
    """Issue 18: pooling seeds per example narrowed the interval when a second seed disagreed."""
    rng = np.random.default_rng(11)
    worse = np.where(rng.random(N) < 0.62, LABELS, 1 - LABELS)  # a seed well below A
    one, two = (stats.interval(LABELS, v, "mcc", n_resamples=B) for v in (A, [A, worse]))
    assert two["high"] - two["low"] > 1.2 * (one["high"] - one["low"])
    pooled = stats.interval(np.tile(LABELS, 2), np.concatenate([A, worse]), "mcc", n_resamples=B)  # seeds pooled
    assert two["high"] - two["low"] > 1.5 * (pooled["high"] - pooled["low"])


def test_compare_with_itself_is_zero():
    for values, metric in ((A, "f1"), ([A, A, A], "mcc"), (SCORES, "roc_auc")):
        result = stats.compare(LABELS, values, values, metric, n_resamples=B)
        assert (result["delta"], result["low"], result["high"], result["p_value"]) == (0.0, 0.0, 0.0, 1.0)
        assert not result["significant"] and result["verdict"] == "no difference shown" and not result["borderline"]
    seeds = [A, B_ARM, np.where(RNG.random(N) < 0.76, LABELS, 1 - LABELS)]  # distinct seeds: resampled per arm
    result = stats.compare(LABELS, seeds, seeds, "mcc", n_resamples=B)
    assert result["delta"] == 0.0 and result["low"] < 0 < result["high"] and not result["significant"]


def test_paired_compare_direction_and_verdicts():
    result = stats.compare(LABELS, A, B_ARM, "f1", n_resamples=B)
    assert result["delta"] == pytest.approx(f1_score(LABELS, A) - f1_score(LABELS, B_ARM))
    assert result["low"] <= result["delta"] <= result["high"]
    assert set(result) == {"metric", "delta", "low", "high", "p_value", "significant", "verdict", "borderline",
                           "undefined", "n", "seeds_a", "seeds_b", "n_resamples"}
    perfect, coin = LABELS, np.where(np.arange(N) % 2 == 0, LABELS, 1 - LABELS)
    better = stats.compare(LABELS, perfect, coin, "mcc", n_resamples=B)
    assert better["significant"] and better["verdict"] == "higher" and better["low"] > 0 and better["p_value"] < 0.05
    worse = stats.compare(LABELS, coin, perfect, "mcc", n_resamples=B)
    assert worse["significant"] and worse["verdict"] == "lower" and worse["high"] < 0
    assert better["p_value"] == pytest.approx(2 / (B + 1))  # no resample at or below 0


def test_paired_compare_sees_what_separate_intervals_miss():
    """Two arms that differ on a few examples only: the paired interval sees the difference."""
    close = A.copy()
    wrong = np.flatnonzero(A != LABELS)[:12]
    close[wrong] = LABELS[wrong]  # 12 fewer mistakes than A, same elsewhere
    assert stats.compare(LABELS, close, A, "balanced_accuracy", n_resamples=B)["verdict"] == "higher"
    a, c = (stats.interval(LABELS, p, "balanced_accuracy", n_resamples=B) for p in (A, close))
    assert c["low"] < a["high"]  # the separate intervals overlap


@pytest.mark.parametrize("size", [39, 40, 41, 79, 999, 1000, 1001, 2000, 9999])
def test_p_value_agrees_with_the_interval(size):
    """significant (p < 0.05) exactly when the 95% interval excludes 0, whatever the count at or below 0."""
    rng = np.random.default_rng(size)
    for shift in np.linspace(-3.5, 3.5, 57):
        deltas = np.round(rng.normal(shift, 1, size), 1)  # rounded: some exactly 0
        judged = stats._judge(deltas)
        if size < 40:  # p >= 2 / 40: never significant, and no order statistic for a 95% interval
            assert not judged["significant"] and judged["low"] is None
            continue
        excludes = judged["low"] > 0 or judged["high"] < 0
        assert judged["significant"] == excludes == (judged["p_value"] < 0.05), (shift, judged)
        at_or_below, at_or_above = (deltas <= 0).sum(), (deltas >= 0).sum()
        assert judged["p_value"] == pytest.approx(min(1, 2 * min(at_or_below + 1, at_or_above + 1) / (size + 1)))
        if judged["significant"]:
            assert judged["verdict"] == ("higher" if judged["low"] > 0 else "lower")


def test_p_value_agrees_with_the_interval_end_to_end():
    rng = np.random.default_rng(3)
    seen = set()
    for flips in range(0, 40, 3):
        other = A.copy()
        index = rng.choice(N, flips, replace=False)
        other[index] = 1 - other[index]
        result = stats.compare(LABELS, A, other, "mcc", n_resamples=1001, seed=flips)
        assert result["significant"] == (result["low"] > 0 or result["high"] < 0) == (result["p_value"] < 0.05)
        seen.add(result["significant"])
    assert seen == {True, False}


def test_borderline_when_the_bound_is_near_zero():
    size = 10_000
    edge = 2 * np.sqrt(0.025 * 0.975 / size)  # 2 Monte Carlo standard errors of the one-sided p
    for below, expected in ((250, True), (int(size * (0.025 - 0.9 * edge)), True), (int(size * (0.025 + 0.9 * edge)), True),
                            (int(size * (0.025 - 1.2 * edge)), False), (int(size * (0.025 + 1.2 * edge)), False), (0, False)):
        deltas = np.r_[-np.ones(below), np.ones(size - below)]
        assert stats._judge(deltas)["borderline"] == expected, below
    near = stats._judge(np.r_[-np.ones(240), np.ones(size - 240)])
    assert near["significant"] and near["borderline"] and near["low"] > 0  # significant, but only just


def test_holm_by_hand():
    p_values = [0.01, 0.04, 0.03, 0.005, 0.2]
    family = [{"p_value": p, "delta": 0.1, "significant": p < 0.05, "verdict": "higher" if p < 0.05 else "no difference shown",
               "borderline": False, "n_resamples": 10_000} for p in p_values]
    family.append({"p_value": None, "delta": None, "significant": False, "verdict": "no difference shown", "undefined": "a: x"})
    # by hand: sorted 0.005 0.01 0.03 0.04 0.2 times 5 4 3 2 1 = 0.025 0.04 0.09 0.08 0.2, made non-decreasing
    adjusted = {0.005: 0.025, 0.01: 0.04, 0.03: 0.09, 0.04: 0.09, 0.2: 0.2}
    out = stats.holm(family)
    assert [r.get("p_adjusted") for r in out] == pytest.approx([adjusted[p] for p in p_values] + [None])
    assert [r["significant"] for r in out] == [True, False, False, True, False, False]
    assert [r["verdict"] for r in out] == ["higher", "no difference shown", "no difference shown", "higher",
                                           "no difference shown", "no difference shown"]
    assert out[-1] == family[-1] and family[1]["significant"]  # the undefined one unchanged; inputs not modified
    assert [r["significant"] for r in stats.holm(family, alpha=0.1)] == [True, True, True, True, False, False]


def test_holm_on_compare_results():
    coin = np.where(np.arange(N) % 2 == 0, LABELS, 1 - LABELS)
    family = [stats.compare(LABELS, LABELS, coin, "mcc", n_resamples=B), stats.compare(LABELS, A, A, "mcc", n_resamples=B)]
    out = stats.holm(family)
    assert out[0]["verdict"] == "higher" and out[0]["p_adjusted"] == pytest.approx(2 * family[0]["p_value"])
    assert out[1]["verdict"] == "no difference shown" and out[1]["p_adjusted"] == 1.0


def test_non_inferiority_p_agrees_with_the_interval_and_the_margin():
    """p_worse < 0.05 exactly when the 95% interval lies wholly below -margin (MCC), or above +margin
    where lower is better (brier); identical arms are never worse; no margin, no new keys."""
    rng = np.random.default_rng(5)
    seen = set()
    for flips in range(0, 60, 6):
        worse = A.copy()
        index = rng.choice(np.flatnonzero(A == LABELS), flips, replace=False)  # right answers made wrong
        worse[index] = 1 - worse[index]
        for margin in (0.0, 0.05, 0.1):
            result = stats.compare(LABELS, worse, A, "mcc", n_resamples=1001, seed=flips, margin=margin)
            assert result["margin"] == margin and 0 < result["p_worse"] <= 1
            assert (result["p_worse"] < 0.05) == (result["high"] < -margin), (flips, margin, result)
            seen.add(result["p_worse"] < 0.05)
    assert seen == {True, False}
    same = stats.compare(LABELS, A, A, "mcc", n_resamples=B, margin=0.05)
    assert same["p_worse"] == 1.0 and "p_worse" not in stats.compare(LABELS, A, A, "mcc", n_resamples=B)
    noisy = np.clip(SCORES + 0.3 * (1 - 2 * LABELS), 0, 1)  # pushed towards the wrong class: brier up
    brier = stats.compare(LABELS, noisy, SCORES, "brier", n_resamples=B, margin=0.01)
    assert brier["delta"] > 0.01 and brier["p_worse"] < 0.05
    assert stats.compare(LABELS, SCORES, noisy, "brier", n_resamples=B, margin=0.01)["p_worse"] == 1.0
    with pytest.raises(ValueError, match="margin"):
        stats.compare(LABELS, A, A, "mcc", margin=-0.1)


def _arm(rng, y, logit, seeds, seed_sd):
    """An arm's seeds: a seed-level shift of each example's logit of being right, then independent flips."""
    right = rng.random((seeds, y.size)) < 1 / (1 + np.exp(-(logit + rng.normal(0, seed_sd, (seeds, 1)))))
    return np.where(right, y, ~y)


def test_equal_arms_with_seed_noise_rarely_differ():
    """Issue 18's setting: arms of equal truth (recall 0.80, false-positive rate 0.32 on average), seeds
    that flip examples independently and shift as a whole, 3 seeds. At 1 seed the same data gives
    "higher/lower" far above 5% (the seed's luck counts as the arm's); at 3 seeds, resampled, at most ~6%.
    Measured with this RNG seed: 3.0% with 3 seeds, 13% with 1 (RNG seeds 1 and 2: 2.5% / 18%, 0.5% / 13%)."""
    rng = np.random.default_rng(2024)
    n, runs, false, one_seed_false = 300, 200, 0, 0
    for run in range(runs):
        y = rng.random(n) < 0.5
        logit = np.where(y, 1.39, 0.75) + rng.normal(0, 2.0, n)  # each example's difficulty, shared by both arms
        a, b = _arm(rng, y, logit, 3, 0.15), _arm(rng, y, logit, 3, 0.15)
        false += stats.compare(y, a, b, "mcc", n_resamples=2000, seed=run)["significant"]
        if run < 60:
            one_seed_false += stats.compare(y, a[0], b[0], "mcc", n_resamples=2000, seed=run)["significant"]
    assert false / runs <= 0.06
    assert one_seed_false / 60 > 0.1


def test_score_metrics_take_scores_and_prediction_metrics_predictions():
    with pytest.raises(ValueError, match=r"values: roc_auc needs P\(fraud\) scores in \[0, 1\], got values in \[-0.5, 2\]"):
        stats.interval(LABELS, np.r_[-0.5, 2, SCORES[2:]], "roc_auc")
    with pytest.raises(ValueError, match="values_b: mcc needs 0/1 predictions"):
        stats.compare(LABELS, A, SCORES, "mcc")
    with pytest.raises(ValueError, match="non-finite"):
        stats.metric_value("brier", LABELS, np.r_[np.nan, SCORES[1:]])
    assert stats.metric_value("roc_auc", LABELS, A) == pytest.approx(roc_auc_score(LABELS, A))  # 0/1 are scores too


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="got .auc., expected a metric, one of precision, "):
        stats.metric_value("auc", LABELS, A)
    with pytest.raises(ValueError, match=r"values: got shape \(3,\), expected \(200,\) or \(seeds, 200\)"):
        stats.interval(LABELS, [0, 1, 0], "f1")
    with pytest.raises(ValueError, match="values_b"):
        stats.compare(LABELS, A, np.full(N, 2), "f1")
    with pytest.raises(ValueError, match="labels: got shape"):
        stats.metric_value("f1", [], [])
    with pytest.raises(ValueError, match="n_resamples"):
        stats.interval(LABELS, A, "f1", n_resamples=0)




def test_replicates_share_the_resamples_and_compare_is_their_difference():
    other = _values("mcc", 7)
    points, draws = several.replicates(LABELS, {"a": A, "b": [B_ARM, other]}, "mcc", n_resamples=B, seed=2)
    assert points == pytest.approx({"a": stats.metric_value("mcc", LABELS, A),
                                    "b": stats.metric_value("mcc", LABELS, [B_ARM, other])})
    assert draws.shape == (B, 2) and not np.isnan(draws).any()
    compared = stats.compare(LABELS, A, [B_ARM, other], "mcc", n_resamples=B, seed=2)
    assert compared["p_value"] == stats._judge(draws[:, 0] - draws[:, 1])["p_value"]  # the same resamples
    alone = several.replicates(LABELS, {"a": A}, "mcc", n_resamples=B, seed=2)[1]
    assert np.array_equal(alone[:, 0], draws[:, 0])  # an arm's column does not depend on the other arms (1 seed)
    with pytest.raises(ValueError, match="arms: got none"):
        several.replicates(LABELS, {}, "mcc")
    with pytest.raises(ValueError, match=r"arms\['b'\]: mcc needs 0/1 predictions"):
        several.replicates(LABELS, {"a": A, "b": SCORES}, "mcc")


def _right_on(count: int) -> np.ndarray:
    """Predictions right on every negative and on the first `count` positives: recall count / positives."""
    predictions = np.zeros(N, int)
    predictions[np.flatnonzero(LABELS)[:count]] = 1
    return predictions


def test_slope_of_exactly_linear_arms():
    positives = int(LABELS.sum())
    ratios = [0.5, 1, 2, 4, 8]  # recall rises by 8 positives per doubling
    arms = {np.log2(r): _right_on(20 + 8 * i) for i, r in enumerate(ratios)}
    result = several.slope(LABELS, arms, "recall", n_resamples=B)
    assert result["slope"] == pytest.approx(8 / positives)
    assert result["low"] < result["slope"] < result["high"] and result["low"] > 0
    assert result["verdict"] == "increasing" and result["significant"] is True
    assert result["p_value"] == pytest.approx(2 / (B + 1))  # no resample at or below 0
    assert set(result) == {"metric", "slope", "low", "high", "p_value", "significant", "verdict", "borderline",
                           "undefined", "arms", "n", "n_resamples"}
    # each resample's slope is the least-squares slope of the arms' values in it (replicates' draws)
    _, draws = several.replicates(LABELS, arms, "recall", n_resamples=B)
    fitted = np.sort(np.polyfit(list(arms), draws.T, 1)[0])
    assert (result["low"], result["high"]) == pytest.approx((fitted[23], fitted[-24]))  # 95%: order statistics of 1,000
    reversed_ = several.slope(LABELS, {-x: v for x, v in arms.items()}, "recall", n_resamples=B)
    assert reversed_["slope"] == pytest.approx(-result["slope"]) and reversed_["verdict"] == "decreasing"
    flat = several.slope(LABELS, dict.fromkeys(range(4), A) | {4: [A, A]}, "mcc", n_resamples=B)
    assert (flat["slope"], flat["low"], flat["high"], flat["p_value"]) == (0.0, 0.0, 0.0, 1.0)
    assert flat["verdict"] == "no trend shown" and not flat["significant"]
    with pytest.raises(ValueError, match="at least 2 distinct x"):
        several.slope(LABELS, {1: A}, "mcc")


def test_p_best_sums_to_one_and_finds_a_dominant_arm():
    shares = several.p_best(LABELS, {"a": A, "b": B_ARM, "c": _values("mcc", 3)}, "mcc", n_resamples=B)
    assert sum(shares.values()) == pytest.approx(1) and all(0 <= s <= 1 for s in shares.values())
    assert several.p_best(LABELS, {"x": A, "y": A, "z": A}, "f1", n_resamples=B) == pytest.approx(dict.fromkeys("xyz", 1 / 3))
    dominant = several.p_best(LABELS, {"perfect": LABELS, "a": A, "b": B_ARM}, "mcc", n_resamples=B)
    assert dominant["perfect"] > 0.99 and sum(dominant.values()) == pytest.approx(1)
    close = np.clip(SCORES + np.where(LABELS, 0.2, -0.2), 0, 1)  # nearer the labels: a lower (better) Brier score
    lower = several.p_best(LABELS, {"scores": SCORES, "close": close}, "brier", n_resamples=B)
    assert lower["close"] > 0.99


def test_several_arms_undefined():
    none_predicted, once = np.zeros(N, int), _right_on(1)  # precision: undefined / defined where its positive is drawn
    arms = {0: A, 1: B_ARM, 2: none_predicted}
    points, draws = several.replicates(LABELS, arms, "precision", n_resamples=B)
    assert points[2] is None and points[0] is not None and draws.shape == (0, 3)
    result = several.slope(LABELS, arms, "precision", n_resamples=B)
    assert result["slope"] is None and result["p_value"] is None and result["verdict"] == "no trend shown"
    assert result["undefined"] == "2: no positive prediction"
    assert several.p_best(LABELS, arms, "precision", n_resamples=B) == {0: None, 1: None, 2: None}
    points, draws = several.replicates(LABELS, {0: A, 1: once}, "precision", n_resamples=B)
    assert points[1] == 1.0 and 0.4 * B < draws.shape[0] < 0.8 * B and not np.isnan(draws).any()  # dropped resamples
    assert sum(several.p_best(LABELS, {0: A, 1: once}, "precision", n_resamples=B).values()) == pytest.approx(1)


_PREVALENCE, _RECALL, _FPR = 0.5, 0.80, 0.32  # issue 18's typical arm


def _mcc(recall, fpr):
    tp, fp = _PREVALENCE * recall, (1 - _PREVALENCE) * fpr
    fn, tn = _PREVALENCE - tp, 1 - _PREVALENCE - fp
    return (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))


@functools.cache
def _shift_for(target):
    """d such that recall + d, false-positive rate - d gives MCC `target` (bisection)."""
    low, high = -0.2, 0.15
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if _mcc(_RECALL + mid, _FPR - mid) < target else (low, mid)
    return (low + high) / 2


def _sweep_grid(rng, per_doubling, n=400, ratios=5, rho=0.95):
    """A sweep of known truth: arm j's MCC = 0.483 + per_doubling * (j - 2). Each example has a latent
    difficulty z shared by all arms (a Gaussian copula of correlation rho**2 between arms' errors), so
    equal arms disagree on ~11% of examples, as near-identical arms of the recorded grid do."""
    y = rng.random(n) < _PREVALENCE
    z = rng.standard_normal(n)
    arms = []
    for j in range(ratios):
        d = _shift_for(_mcc(_RECALL, _FPR) + per_doubling * (j - ratios // 2))
        right = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n) < norm.ppf(np.where(y, _RECALL + d, 1 - _FPR + d))
        arms.append(np.where(right, y, ~y))
    return y, arms


def _neighbours(y, arms, seed):
    """The old rule's verdicts: each ratio against the previous one, unadjusted (kind to the rule)."""
    return [stats.compare(y, arms[j + 1], arms[j], "mcc", n_resamples=B, seed=seed) for j in range(len(arms) - 1)]


def test_the_slope_finds_trends_that_neighbour_verdicts_miss():
    """Issue 18: the sweep compared only neighbours. Sweeps of 5 ratios, n = 400, 1 seed per ratio,
    B = 1,000. At 0.02 MCC per doubling the paired slope says "increasing" far more often than any
    neighbour says "higher" (issue 18 measured 71% against 32%); with no trend, the slope says
    something at about the nominal 5% (4 unadjusted neighbour verdicts: ~16% for the rule).
    Measured here: power 48/60 (80%) against 21/60 (35%); no trend: 55/1000 (5.5%) for the slope, 6/60
    for the neighbours. Longer runs of the same simulation: power 74.5% against 33.8% (1,000 grids);
    no trend 5.9%, 5.3% and 4.4% (1,000, 1,500 and 500 grids of other RNG streams), the neighbours 16.4%."""
    rng = np.random.default_rng(18)
    y, arms = _sweep_grid(rng, 0.0, n=100_000)
    assert 0.10 < np.mean(arms[0] != arms[1]) < 0.12  # equal arms disagree on ~11% of examples
    slope_found = neighbour_found = 0
    for g in range(60):
        y, arms = _sweep_grid(rng, 0.02)
        slope_found += several.slope(y, dict(enumerate(arms)), "mcc", n_resamples=B, seed=g)["verdict"] == "increasing"
        neighbour_found += any(c["verdict"] == "higher" for c in _neighbours(y, arms, g))
    slope_false = neighbour_false = 0
    for g in range(1000):
        y, arms = _sweep_grid(rng, 0.0)
        slope_false += several.slope(y, dict(enumerate(arms)), "mcc", n_resamples=B, seed=g)["significant"]
        if g < 60:
            neighbour_false += any(c["significant"] for c in _neighbours(y, arms, g))
    print(f"power: slope {slope_found}/60, neighbours {neighbour_found}/60; "
          f"no trend: slope {slope_false}/1000, neighbours {neighbour_false}/60")
    assert slope_found / 60 >= 0.6 and slope_found >= 1.5 * neighbour_found
    assert slope_false / 1000 <= 0.06


def test_holm_keeps_the_family_wise_rate_under_five_percent():
    """Issue 18: when every arm is truly equal, a family of per-claim verdicts (here 6 comparisons,
    like a sweep's steps) says at least one spurious "higher/lower" in <= 5% of families after Holm;
    unadjusted, far more often."""
    rng = np.random.default_rng(7)
    n, families, claims, adjusted, raw = 300, 120, 6, 0, 0
    for family in range(families):
        y = rng.random(n) < 0.5
        logit = np.where(y, 1.39, 0.75) + rng.normal(0, 2.0, n)
        arms = [_arm(rng, y, logit, 1, 0.0)[0] for _ in range(claims + 1)]
        results = [stats.compare(y, arms[i + 1], arms[0], "mcc", n_resamples=1000, seed=family) for i in range(claims)]
        raw += any(r["significant"] for r in results)
        adjusted += any(r["significant"] for r in stats.holm(results))
    assert adjusted / families <= 0.05
    assert raw / families > adjusted / families


def test_compare_test_sets_two_test_sets_of_one_adapter():
    from fraudft.metrics.stats import compare_test_sets

    rng = np.random.default_rng(3)
    ya, yb = rng.integers(0, 2, 300), rng.integers(0, 2, 500)
    good_a = np.where(rng.random(300) < 0.9, ya, 1 - ya)  # 90% right on a
    good_b = np.where(rng.random(500) < 0.9, yb, 1 - yb)  # and on b
    poor_b = np.where(rng.random(500) < 0.6, yb, 1 - yb)  # 60% right on b
    same = compare_test_sets(ya, good_a, yb, good_b, "mcc", n_resamples=2000, margin=0.1)
    assert same["verdict"] == "no difference shown" and same["low"] < same["delta"] < same["high"]
    assert same["n_a"] == 300 and same["n_b"] == 500 and same["paired"] is False and same["low"] > -0.1
    worse = compare_test_sets(yb, poor_b, ya, good_a, "mcc", n_resamples=2000, margin=0.1)
    assert worse["verdict"] == "lower" and worse["high"] < -0.1 and worse["p_worse"] < 0.05
    # seeds: the same runs on both sets; a seed count that differs is refused
    two = compare_test_sets(ya, np.stack([good_a, good_a]), yb, np.stack([good_b, good_b]), "mcc", n_resamples=2000)
    assert (two["low"], two["high"]) == (same["low"], same["high"])  # identical seeds: the interval of one
    with pytest.raises(ValueError, match="seeds"):
        compare_test_sets(ya, np.stack([good_a, good_a]), yb, good_b, "mcc")
    one_class = compare_test_sets(np.zeros(20, int), np.zeros(20, int), ya, good_a, "mcc", n_resamples=200)
    assert one_class["delta"] is None and one_class["undefined"].startswith("a: ")


def test_unpaired_compare_of_different_test_sets():
    """compare_unpaired: each side on its own test set; a clear gap is seen, the delta is the point
    difference, the interval wider than the paired one on a shared set, and the sides' draws independent."""
    other = RNG.integers(0, 2, 300)  # another test set, of another size
    good = np.where(RNG.random(300) < 0.95, other, 1 - other)
    result = stats.compare_unpaired(other, good, LABELS, B_ARM, "mcc", n_resamples=B)
    assert set(result) == {"metric", "delta", "low", "high", "p_value", "significant", "verdict", "borderline",
                           "undefined", "n", "seeds_a", "seeds_b", "n_resamples"} and result["n"] == (300, N)
    assert result["delta"] == pytest.approx(matthews_corrcoef(other, good) - matthews_corrcoef(LABELS, B_ARM))
    assert result["verdict"] == "higher" and result["low"] > 0
    same = stats.compare_unpaired(LABELS, A, LABELS, A, "mcc", n_resamples=B)  # not paired: not all zero
    paired = stats.compare(LABELS, A, A, "mcc", n_resamples=B)
    assert same["delta"] == 0.0 and same["low"] < 0 < same["high"] and paired["high"] - paired["low"] == 0
    assert not same["significant"]
    undefined = stats.compare_unpaired(LABELS, np.zeros(N, int), LABELS, A, "precision", n_resamples=B)
    assert undefined["undefined"].startswith("a: ") and undefined["p_value"] is None
