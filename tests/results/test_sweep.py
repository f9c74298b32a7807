"""fraudft.results.sweep: arms that differ in alpha only are found and shown against alpha/r: the slope per
doubling as the sweep's claim (Holm across sweeps), P(best) per ratio, neighbour verdicts secondary."""

import numpy as np
import pytest

from fraudft.results.plot import plot_alpha_sweeps
from fraudft.results.record import Evaluation, RunRecord
from fraudft.results.sweep import find_sweeps, holm_trends, sweep_kind, sweep_points, sweep_report, sweep_summaries

LABELS = [1, 0] * 50


def _record(arm: str, alpha: float, predictions: list[int], dropout: float = 0.05) -> RunRecord:
    lora = {"r": 8, "alpha": alpha, "dropout": dropout, "rslora": False, "target_modules": ["q_proj"]}
    return RunRecord(arm=arm, seed=0, recipe="cpu-tiny", model="tiny", device="cpu", train_info={"status": "success"},
                     run_info={"config": {"arm": {"name": arm, "lora": lora, "train_data": [], "test_data": []}}},
                     evaluations=[Evaluation("test", LABELS, predictions)])


def _noisy(wrong_every: int) -> list[int]:
    return [1 - y if i % wrong_every == 0 else y for i, y in enumerate(LABELS)]


def test_alpha_only_arms_make_a_sweep_and_a_confounded_arm_stays_out():
    records = [_record("a1", 8, _noisy(3)), _record("a2", 16, _noisy(4)), _record("a4", 32, LABELS),
               _record("confounded", 32, LABELS, dropout=0.1)]
    (sweep,) = find_sweeps(records)
    assert [(ratio, arm) for ratio, arm, _ in sweep] == [(1, "a1"), (2, "a2"), (4, "a4")]
    points = sweep_points(sweep, n_resamples=200)
    assert "vs_previous" not in points[0]
    assert points[2]["vs_previous"]["verdict"] == "higher"  # perfect vs every 4th wrong, on 100 examples
    report = sweep_report(records, n_resamples=200)
    assert "alpha/r sweep" in report and "| 4 | a4 |" in report


def test_no_sweep_no_section_and_no_plot(tmp_path):
    records = [_record("a1", 8, LABELS), _record("a2", 16, LABELS)]
    assert find_sweeps(records) == [] and sweep_report(records) == ""
    assert plot_alpha_sweeps(records, "c1", tmp_path / "alpha_r.png") is None


def test_the_sweep_plot_is_written(tmp_path):
    records = [_record("a1", 8, _noisy(3)), _record("a2", 16, _noisy(4)), _record("a4", 32, LABELS)]
    path = plot_alpha_sweeps(records, "c1", tmp_path / "alpha_r.png", n_resamples=100)
    assert path.stat().st_size > 1000


def test_the_sweep_claims_a_slope_with_p_best_per_ratio():
    records = [_record("a1", 8, _noisy(3)), _record("a2", 16, _noisy(4)), _record("a4", 32, LABELS)]
    (summary,) = sweep_summaries(records, n_resamples=500)
    trend = summary["trend"]
    assert trend["verdict"] == "increasing" and trend["low"] > 0 and trend["arms"] == 3
    values = [p["value"] for p in summary["points"]]
    assert trend["slope"] == pytest.approx(np.polyfit([0, 1, 2], values, 1)[0])  # per doubling: log2(alpha/r)
    assert sum(trend["p_best"].values()) == pytest.approx(1) and trend["p_best"][4] > 0.95
    assert [p["p_best"] for p in summary["points"]] == [trend["p_best"][r] for r in (1, 2, 4)]
    report = sweep_report(records, n_resamples=500)
    headline = (f"slope of mcc per doubling of alpha/r: {trend['slope']:+.3f} "
                f"[{trend['low']:+.3f}, {trend['high']:+.3f}], increasing")
    assert headline in report and "| P(best) |" in report and "Holm-adjusted across" not in report  # one sweep: one claim


def test_a_flat_sweep_shows_no_trend_and_shares_p_best():
    records = [_record(f"a{a}", a, _noisy(4)) for a in (4, 8, 16, 32)]
    (summary,) = sweep_summaries(records, n_resamples=500)
    assert summary["trend"]["verdict"] == "no trend shown" and summary["trend"]["slope"] == 0.0
    assert list(summary["trend"]["p_best"].values()) == pytest.approx([0.25] * 4)  # exact ties split evenly


def test_several_sweeps_are_holm_adjusted_across():
    records = ([_record(f"a{a}", a, p) for a, p in ((8, _noisy(3)), (16, _noisy(4)), (32, LABELS))]
               + [_record(f"d{a}", a, _noisy(4), dropout=0.1) for a in (8, 16, 32)])
    summaries = sweep_summaries(records, n_resamples=500)
    trends = {s["sweep"][0][1]: s["trend"] for s in summaries}
    assert trends["a8"]["verdict"] == "increasing" and trends["d8"]["verdict"] == "no trend shown"
    assert trends["a8"]["p_adjusted"] == pytest.approx(2 * trends["a8"]["p_value"])  # the smaller p, times 2
    assert "delta" not in trends["a8"]
    assert "Holm-adjusted across 2 sweeps" in sweep_report(records, n_resamples=500)


def test_holm_trends_keeps_trend_words():
    base = {"metric": "mcc", "low": 0.01, "high": 0.05, "borderline": False, "undefined": None, "arms": 5,
            "n_resamples": 10_000}
    trends = [dict(base, slope=0.03, p_value=0.01, significant=True, verdict="increasing"),
              dict(base, slope=-0.03, p_value=0.03, significant=True, verdict="decreasing"),
              dict(base, slope=None, low=None, high=None, p_value=None, significant=False, verdict="no trend shown",
                   undefined="alpha/r 4: no scores"),
              dict(base, slope=0.02, p_value=0.04, significant=True, verdict="increasing")]
    out = holm_trends(trends)  # by hand: 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> 0.06 (step-down)
    assert [t["verdict"] for t in out] == ["increasing", "no trend shown", "no trend shown", "no trend shown"]
    assert [t.get("p_adjusted") for t in out] == pytest.approx([0.03, 0.06, None, 0.06]) and out[2] == trends[2]


def test_an_undefined_trend_says_why():
    records = [_record("a1", 8, _noisy(3)), _record("a2", 16, _noisy(4)), _record("a4", 32, LABELS)]
    (summary,) = sweep_summaries(records, "roc_auc", n_resamples=200)  # no scores recorded
    assert summary["trend"]["slope"] is None and summary["trend"]["p_best"] == {}
    assert summary["trend"]["undefined"].startswith("alpha/r 1: ")
    report = sweep_report(records, "roc_auc", n_resamples=200)
    assert "slope of roc_auc per doubling of alpha/r: — (alpha/r 1: " in report


def _with_arm(record: RunRecord, **fields) -> RunRecord:
    record.run_info["config"]["arm"].update(fields)
    return record


def test_an_extra_evaluation_does_not_take_an_arm_out_of_its_sweep():
    """The reference has extra_tests (its neutralised-data evaluation): it is still the alpha/r 2 point."""
    records = [_record("a1", 8, _noisy(3)), _with_arm(_record("reference", 16, _noisy(4)), extra_tests=["neutralize_speakers"]),
               _record("a4", 32, LABELS)]
    (sweep,) = find_sweeps(records)
    assert [arm for _, arm, _ in sweep] == ["a1", "reference", "a4"]


def test_the_iso_effective_lr_sweep_is_its_own_with_the_reference():
    records = [_record("a1", 8, _noisy(3)), _record("reference", 16, _noisy(4)), _record("a4", 32, LABELS),
               _with_arm(_record("iso1", 8, _noisy(3)), learning_rate_scale=2.0),
               _with_arm(_record("iso4", 32, LABELS), learning_rate_scale=0.5)]
    plain, iso = find_sweeps(records)
    assert [arm for _, arm, _ in plain] == ["a1", "reference", "a4"] and sweep_kind(plain) == "alpha/r sweep"
    assert [arm for _, arm, _ in iso] == ["iso1", "reference", "iso4"]
    assert sweep_kind(iso) == "iso-effective-lr alpha/r sweep (alpha/r x lr scale = 2)"
