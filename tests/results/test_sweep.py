"""fraudft.results.sweep: arms that differ in alpha only are found and shown against alpha/r."""

from fraudft.results.plot import plot_alpha_sweeps
from fraudft.results.record import Evaluation, RunRecord
from fraudft.results.sweep import find_sweeps, sweep_points, sweep_report

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
