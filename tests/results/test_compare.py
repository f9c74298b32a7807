"""fraudft.results.compare and `fraudft results compare BASE HEAD`: deltas, honest verdicts, confirmed regressions
(MCC beyond the non-inferiority margin; speed and memory only on a GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudft.metrics import stats
from fraudft.core.errors import UsageError
from fraudft.results.compare import check_models
from fraudft.results.store import load_records, write_record

F1, MCC = 3, 4  # cell indices of the means in a main-table row split on " | "


def delta(out: str, arm: str, metric: str) -> str:
    """The `Δ 95% CI, adjusted verdict` cell of (arm, metric) in the deltas table, or "—" if absent."""
    rows = [line for line in out.split("### Metric deltas")[-1].splitlines()
            if line.startswith(f"| cpu-tiny | {arm} | {metric} |")] if "### Metric deltas" in out else []
    return rows[0].rstrip(" |").split(" | ")[-1] if rows else "—"


@pytest.fixture
def two_commits(fake, tmp_path):
    for commit in ("base", "head"):
        fake.record(tmp_path, commit, "untuned", fn=100, fp=0)
    fake.record(tmp_path, "base", "reference", fn=10, fp=10)
    fake.record(tmp_path, "head", "reference", fn=30, fp=10)  # MCC 0.800 -> 0.612: planted regression
    fake.record(tmp_path, "base", "alpha_r4", tokens_per_s=10000.0)
    fake.record(tmp_path, "head", "alpha_r4", tokens_per_s=8000.0)  # -20% throughput: on a CPU, a note
    fake.record(tmp_path, "base", "r16_d02", fn=10, fp=10, tokens_per_s=10000.0)
    fake.record(tmp_path, "head", "r16_d02", fn=18, fp=10, tokens_per_s=9500.0)  # MCC lower, within the margin
    fake.record(tmp_path, "base", "rslora", peak_bytes=2 * 2**30)
    fake.record(tmp_path, "head", "rslora", peak_bytes=int(2.5 * 2**30))  # +25% RSS: on a CPU, a note
    fake.record(tmp_path, "base", "shortcut")  # missing in head
    fake.record(tmp_path, "head", "positives_only", fn=0, fp=100)  # added
    return tmp_path


def compare(fake, capsys, root, *extra):
    return fake.run(capsys, "results", "compare", "base", "head", "--results-dir", root, *extra)


def test_compare_flags_confirmed_regressions_only(capsys, fake, two_commits):
    rc, out, err = compare(fake, capsys, two_commits)
    assert rc == 0, err
    assert "non-inferiority margin 0.05" in out and "On a CPU these are notes" in out  # the header says the rules
    reference = fake.row(out, "cpu-tiny", "reference")
    assert "REGRESSION**: MCC -0.188 [" in reference and "below −0.05 (Holm-adjusted p " in reference
    assert "0.900 → 0.778 (-0.122)" in reference and "F1" not in reference.split(" | ")[-1]  # F1: information
    # 0.0002, Holm over the 2 arms whose step is a test (untuned, alpha_r4 and rslora: identical predictions, no test)
    assert delta(out, "reference", "mcc").endswith("lower; Δ < −0.05: adjusted p 0.0004")
    assert delta(out, "alpha_r4", "mcc") == "+0.000 identical on both (no test)"
    alpha = fake.row(out, "cpu-tiny", "alpha_r4")
    assert "10000 → 8000 (-20.0%)" in alpha and "REGRESSION" not in alpha
    assert "ok (tokens/s -20.0%: informational on CPU, measure interleaved with `fraudft results ab`)" in alpha
    r16 = fake.row(out, "cpu-tiny", "r16_d02")
    # the estimate is beyond the margin, the test cannot confirm it: said in those words, and ▼ as history marks it
    assert "▼ lower, not a regression (MCC ▼ lower (Holm-adjusted p " in r16 and "REGRESSION" not in r16
    assert "; not shown worse than the margin 0.05: -0.078 [" in r16
    assert "the estimate is below −0.05, but the test cannot confirm it (Holm-adjusted p " in r16
    assert "within the margin" not in out
    rslora = fake.row(out, "cpu-tiny", "rslora")
    assert "ok (peak memory +25.0%: informational on CPU" in rslora
    assert fake.row(out, "cpu-tiny", "untuned").rstrip(" |").endswith("ok")
    assert "| shortcut |" not in out  # missing in head: not judged, listed once below
    assert fake.row(out, "cpu-tiny", "positives_only").rstrip(" |").endswith("added")
    assert "1 regressed: cpu-tiny/reference" in out
    assert "added in head: cpu-tiny/positives_only" in out
    assert ("missing in head (1 arm of base not rerun; not judged, `--require-all` counts them): cpu-tiny/shortcut"
            in out) and out.count("shortcut") == 1


def test_the_margin_and_tolerances_are_options(capsys, fake, two_commits):
    rc, out, _ = compare(fake, capsys, two_commits, "--margin-mcc", "0.2")
    assert rc == 0 and "no regressions" in out  # the missing arm is not judged
    assert "not shown worse than the margin 0.2: -0.188 [" in fake.row(out, "cpu-tiny", "reference")
    assert "the estimate is below" not in fake.row(out, "cpu-tiny", "reference")  # -0.188 is within -0.2
    rc, out, _ = compare(fake, capsys, two_commits, "--margin-mcc", "0")  # any drop shown is a regression
    assert "REGRESSION**: MCC -0.078" in fake.row(out, "cpu-tiny", "r16_d02")
    for option in ("--margin-mcc", "--tolerance-throughput", "--tolerance-memory"):
        rc, _, err = compare(fake, capsys, two_commits, option, "-1")
        assert rc == 2 and option in err and err.count("\n") == 1


def test_fail_on_regression_sets_the_exit_code(capsys, fake, two_commits):
    rc, _, _ = compare(fake, capsys, two_commits, "--fail-on-regression")
    assert rc == 1
    rc, _, _ = fake.run(capsys, "results", "compare", "base", "base", "--results-dir", two_commits, "--fail-on-regression")
    assert rc == 0
    rc, out, _ = fake.run(capsys, "results", "compare", "head", "base", "--results-dir", two_commits,
                          "--fail-on-regression")
    assert rc == 0 and "no regressions" in out  # everything improves; an arm is gone, which only --require-all counts
    rc, out, _ = fake.run(capsys, "results", "compare", "head", "base", "--results-dir", two_commits,
                          "--fail-on-regression", "--require-all")
    assert rc == 1 and "1 regressed: cpu-tiny/positives_only" in out


def on_gpu(fake, root, commit, arm, tokens_per_s, allocated):
    """A record of a run on a GPU: device cuda, CUDA peak allocated bytes."""
    record = fake.record(root, commit, arm, tokens_per_s=tokens_per_s)
    record.device, record.meta_info = "cuda", {"device": "NVIDIA H200", "cuda": "12.8"}
    record.train_info["peak_memory"] = {"device": "cuda", "peak_allocated_bytes": allocated}
    write_record(record, root)
    return record


def test_speed_and_memory_regress_only_on_a_gpu(capsys, fake, tmp_path):
    on_gpu(fake, tmp_path, "base", "reference", 10000.0, 2 * 2**30)
    on_gpu(fake, tmp_path, "head", "reference", 8000.0, int(2.5 * 2**30))
    on_gpu(fake, tmp_path, "base", "rslora", 10000.0, 2 * 2**30)
    on_gpu(fake, tmp_path, "head", "rslora", 9500.0, int(2.1 * 2**30))  # within both tolerances
    on_gpu(fake, tmp_path, "base", "alpha_r4", 10000.0, 2 * 2**30)
    fake.record(tmp_path, "head", "alpha_r4", tokens_per_s=5000.0)  # the head ran on a CPU: not comparable
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    reference = fake.row(out, "cpu-tiny", "reference")
    assert rc == 1 and "REGRESSION**: tokens/s -20.0% (tolerance 10%); peak memory +25.0% (tolerance 10%)" in reference
    assert fake.row(out, "cpu-tiny", "rslora").rstrip(" |").endswith("ok")
    alpha = fake.row(out, "cpu-tiny", "alpha_r4")
    assert "REGRESSION" not in alpha and "tokens/s -50.0%: informational on CPU" in alpha
    assert "1 regressed: cpu-tiny/reference" in out
    rc, out, _ = compare(fake, capsys, tmp_path, "--tolerance-throughput", "0.3", "--tolerance-memory", "0.3")
    assert rc == 0 and "no regressions" in out


def test_the_same_grid_rerun_on_the_cpu_does_not_regress():
    """The Done-when of issue 18: 9f68520c5c -> ff1315c2a0 is the grid rerun unchanged (identical predictions,
    tokens/s -33% to +19%): no regression, the speed changes are notes."""
    from fraudft.results.compare import compare_report

    root = Path(__file__).resolve().parents[2] / "results"
    if not (root / "9f68520c5c").is_dir() or not (root / "ff1315c2a0").is_dir():
        pytest.skip("the recorded grids of 9f68520c5c and ff1315c2a0 are not in this checkout")
    text, regressed = compare_report(load_records(root, "9f68520c5c"), load_records(root, "ff1315c2a0"),
                                     "9f68520c5c", "ff1315c2a0", n_resamples=1000)
    assert regressed == 0 and text.endswith("no regressions")
    assert text.count("informational on CPU") >= 7 and "REGRESSION" not in text


def test_a_run_that_now_fails_is_a_regression(capsys, fake, tmp_path):
    fake.record(tmp_path, "base", "reference")
    fake.record(tmp_path, "head", "reference", status="failed", error="ValueError: bad shape")
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    line = fake.row(out, "cpu-tiny", "reference")
    assert rc == 1 and "REGRESSION**: successful runs 1/1 → 0/1; failed (1/1 seeds): ValueError: bad shape" in line
    rc, out, _ = fake.run(capsys, "results", "compare", "head", "base", "--results-dir", tmp_path, "--fail-on-regression")
    assert rc == 0 and "fixed" in fake.row(out, "cpu-tiny", "reference")


@pytest.mark.parametrize("head_ok, head_failed", [(0, 3), (1, 2), (1, 0)])
def test_any_drop_in_successful_runs_is_a_regression(capsys, fake, tmp_path, head_ok, head_failed):
    for seed in (0, 1):
        fake.record(tmp_path, "base", "reference", seed=seed)
    fake.record(tmp_path, "base", "reference", seed=2, status="failed")  # 2/3 in the base
    for seed in range(head_ok):
        fake.record(tmp_path, "head", "reference", seed=seed)
    for seed in range(head_ok, head_ok + head_failed):
        fake.record(tmp_path, "head", "reference", seed=seed, status="failed")
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    runs = head_ok + head_failed
    assert rc == 1 and f"successful runs 2/3 → {head_ok}/{runs}" in fake.row(out, "cpu-tiny", "reference")


def test_the_same_failures_in_both_are_no_regression(capsys, fake, tmp_path):
    for commit in ("base", "head"):
        fake.record(tmp_path, commit, "reference", seed=0)
        fake.record(tmp_path, commit, "reference", seed=1, status="failed")
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    assert rc == 0 and "failed in both" in fake.row(out, "cpu-tiny", "reference")


def test_an_added_arm_that_fails_is_a_regression(capsys, fake, tmp_path):
    fake.record(tmp_path, "base", "reference")
    fake.record(tmp_path, "head", "reference")
    fake.record(tmp_path, "head", "rslora", status="failed")
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    assert rc == 1 and "added; **REGRESSION**: failed (1/1 seeds)" in fake.row(out, "cpu-tiny", "rslora")


def test_compare_means_over_seeds_and_backend_filter(capsys, fake, tmp_path):
    for seed, fn in ((0, 10), (1, 20)):
        fake.record(tmp_path, "base", "reference", seed=seed, fn=fn)
    fake.record(tmp_path, "head", "reference", seed=0, fn=15)
    fake.record(tmp_path, "head", "reference", backend="gpu")
    rc, out, _ = compare(fake, capsys, tmp_path, "--backend", "cpu-tiny")
    assert rc == 0
    line = fake.row(out, "cpu-tiny", "reference")
    f1 = [2 * 90 / (2 * 90 + 10 + 10), 2 * 80 / (2 * 80 + 10 + 20), 2 * 85 / (2 * 85 + 10 + 15)]
    assert "2/2 → 1/1" in line and f"{(f1[0] + f1[1]) / 2:.3f} → {f1[2]:.3f}" in line  # means over seeds
    assert "| gpu |" not in out


def test_paired_intervals_come_from_fraudft_stats(capsys, fake, tmp_path):
    base = [fake.record(tmp_path, "base", "reference", seed=s, fn=10, fp=10) for s in (0, 1)]
    head = [fake.record(tmp_path, "head", "reference", seed=s, fn=40, fp=10) for s in (0, 1, 2)]
    rc, out, _ = compare(fake, capsys, tmp_path)
    assert rc == 0
    expected = stats.compare(fake.labels, [r.test.predictions for r in head], [r.test.predictions for r in base], "f1")
    assert expected["verdict"] == "lower"  # one arm: the Holm family of one leaves it as it is
    assert delta(out, "reference", "f1") == f"{expected['delta']:+.3f} [{expected['low']:+.3f}, {expected['high']:+.3f}] lower"
    assert " lower; Δ < −0.05: adjusted p " in delta(out, "reference", "mcc")  # and the margin test
    auc = stats.compare(fake.labels, [r.test.scores for r in head], [r.test.scores for r in base], "roc_auc")
    assert delta(out, "reference", "roc_auc").startswith(f"{auc['delta']:+.3f} [{auc['low']:+.3f}, {auc['high']:+.3f}]")


def test_a_small_difference_reads_no_difference_shown_never_a_win(capsys, fake, tmp_path):
    """The head gets other examples wrong than the base, a few more or fewer: noise, not a verdict."""
    shuffled = fake.predictions  # (fn, fp, seed): the seed shifts which examples are wrong
    fake.record(tmp_path, "base", "reference", predictions=shuffled(12, 10, 0))
    fake.record(tmp_path, "head", "reference", predictions=shuffled(10, 10, 3))  # two fewer mistakes
    fake.record(tmp_path, "base", "alpha_r4", predictions=shuffled(10, 10, 0))
    fake.record(tmp_path, "head", "alpha_r4", predictions=shuffled(14, 10, 3))  # MCC -0.04, other examples wrong
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    reference = delta(out, "reference", "f1")
    assert reference.startswith("+0.0") and reference.endswith("no difference shown")
    assert "higher" not in reference
    alpha = fake.row(out, "cpu-tiny", "alpha_r4")
    assert delta(out, "alpha_r4", "f1").endswith("no difference shown")
    assert delta(out, "alpha_r4", "mcc").startswith("-0.0") and "REGRESSION" not in alpha
    assert rc == 0


def test_undefined_metrics_show_a_dash_with_why(capsys, fake, tmp_path):
    fake.record(tmp_path, "base", "untuned", fn=100, fp=0)
    fake.record(tmp_path, "head", "untuned", fn=100, fp=0)
    rc, out, _ = compare(fake, capsys, tmp_path)
    assert rc == 0
    cells = fake.row(out, "cpu-tiny", "untuned").split(" | ")
    assert cells[MCC] == "0.000 → 0.000 (+0.000)"  # MCC of a constant predictor is 0, defined
    assert delta(out, "untuned", "precision") == "— (head: no positive prediction)"
    assert "0.000 [0.000, 0.000]" not in out


def test_without_scores_a_score_metric_says_why(capsys, fake, tmp_path):
    fake.record(tmp_path, "base", "reference", fn=10, fp=10, scores=False)  # a schema-1 record: no scores
    fake.record(tmp_path, "head", "reference", fn=40, fp=10)
    rc, out, _ = compare(fake, capsys, tmp_path)
    assert rc == 0
    assert delta(out, "reference", "roc_auc") == "— (no scores recorded)"
    assert delta(out, "reference", "f1").endswith("lower")


def test_different_test_data_is_noted_not_tested(capsys, fake, tmp_path):
    fake.record(tmp_path, "base", "reference", fingerprint="aaaa")
    fake.record(tmp_path, "head", "reference", fingerprint="bbbb")
    rc, out, _ = compare(fake, capsys, tmp_path)
    assert rc == 0
    line = fake.row(out, "cpu-tiny", "reference")
    assert "test data differs" in line and delta(out, "reference", "f1") == "—"


def test_a_model_change_is_refused_unless_allowed(capsys, fake, tmp_path):
    fake.record(tmp_path, "base", "reference", model="tiny")
    fake.record(tmp_path, "head", "reference", model="qwen2-0.5b")
    rc, out, err = compare(fake, capsys, tmp_path)
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "cpu-tiny/reference: the model changed from base to head (tiny → qwen2-0.5b)" in err
    assert "--allow-model-change" in err
    rc, out, _ = compare(fake, capsys, tmp_path, "--allow-model-change")
    assert rc == 0 and "model changed: tiny → qwen2-0.5b" in fake.row(out, "cpu-tiny", "reference")


def test_model_falls_back_to_the_recipe_folder(fake, tmp_path):
    fake.record(tmp_path, "base", "reference")
    fake.record(tmp_path, "head", "reference")
    path = tmp_path / "base" / "cpu-tiny" / "reference-seed0.json"  # an older record: no model in its config
    path.write_text(path.read_text().replace('"model": "tiny"', '"model": null'))
    with pytest.raises(UsageError, match=r"\(cpu-tiny → tiny\)"):
        check_models(load_records(tmp_path, "base"), load_records(tmp_path, "head"), "base", "head")
    path = tmp_path / "head" / "cpu-tiny" / "reference-seed0.json"
    path.write_text(path.read_text().replace('"model": "tiny"', '"model": null'))
    assert check_models(load_records(tmp_path, "base"), load_records(tmp_path, "head"), "base", "head") == {}


def test_runs_of_different_recipes_are_never_one_arm(capsys, fake, tmp_path):
    fake.record(tmp_path, "base", "reference", backend="cpu-tiny", model="tiny")
    fake.record(tmp_path, "head", "reference", backend="gpu", model="qwen2-0.5b")
    rc, out, _ = compare(fake, capsys, tmp_path)
    assert rc == 0  # no model change refused: they are two arms, not one
    assert "missing in head (1 arm of base not rerun; not judged, `--require-all` counts them): cpu-tiny/reference" in out
    assert fake.row(out, "gpu", "reference").rstrip(" |").endswith("added")


def test_a_changed_environment_is_said(fake, tmp_path):
    from fraudft.results.compare import compare_report, environment_changes

    base, head = fake.record(tmp_path, "base", "reference"), fake.record(tmp_path, "head", "reference")
    base.meta_info = {"python": "3.11.7", "device": "cpu", "libraries": {"torch": "2.13.0", "triton": None}}
    head.meta_info = {"python": "3.11.7", "device": "cpu", "libraries": {"torch": "2.13.0", "triton": "3.9.0"}}
    assert environment_changes([base], [head]) == ["triton None → 3.9.0"]
    assert environment_changes([base], [base]) == []
    del base.meta_info["libraries"]["triton"]  # not recorded then: not a change
    assert environment_changes([base], [head]) == []
    base.meta_info["libraries"]["triton"] = None
    text, regressed = compare_report([base], [head], "base", "head")
    assert "Environment changed (speed and memory may move without a code change): triton None → 3.9.0" in text
    assert regressed == 0
    assert "Environment changed" not in compare_report([base], [base], "base", "base")[0]


def test_a_changed_task_format_is_a_config_change(fake, tmp_path):
    from fraudft.results.compare import compare_report
    from fraudft.results.config_diff import config_diff

    base, head = fake.record(tmp_path, "base", "reference"), fake.record(tmp_path, "head", "reference")
    base.format = {"prompt": "reference", "system_prompt": None, "separator": "", "answer": "is_fraud"}
    head.format = {**base.format, "prompt": "chat_template", "separator": "\n"}
    assert [str(c) for c in config_diff(base, head)] == ["format.prompt reference -> chat_template",
                                                         'format.separator "" -> "\\n"']
    text, regressed = compare_report([base], [head], "base", "head")
    assert "Config changed (1 arm" in text and "format.prompt reference -> chat_template" in text
    assert "config changed: format.prompt" in fake.row(text, "cpu-tiny", "reference")
    assert config_diff(base, base) == []
    head.format = None  # not recorded: not a change
    assert config_diff(base, head) == [] and "Config changed" not in compare_report([base], [head], "base", "head")[0]

def changed_config(record, root, r: int = 16, learning_rate: float = 0.001):
    """The record as if its arm ran with another LoRA rank and learning rate."""
    from fraudft.results.store import write_record

    config = record.run_info["config"]
    config["arm"]["lora"] = {**config["arm"]["lora"], "r": r}
    config["backend"]["train"] = {"learning_rate": learning_rate, "max_steps": 200}
    write_record(record, root)
    return record


def test_a_changed_lora_rank_or_learning_rate_is_a_config_change_not_a_regression(capsys, fake, tmp_path):
    base = fake.record(tmp_path, "base", "reference", fn=10, fp=10)
    base.run_info["config"]["backend"]["train"] = {"learning_rate": 0.003, "max_steps": 200}
    from fraudft.results.store import write_record

    write_record(base, tmp_path)
    changed_config(fake.record(tmp_path, "head", "reference", fn=80, fp=10), tmp_path)  # far worse, but another config
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    row = fake.row(out, "cpu-tiny", "reference")
    assert rc == 0 and "REGRESSION" not in row and "no regressions" in out
    assert "config changed: lora.r 8 -> 16; train.learning_rate 0.003 -> 0.001 (not a regression)" in row
    assert "a config change, not a regression" in row  # the MCC drop, said as the change's effect
    assert "`--fail-on-regression` does not count them" in out
    changed_config(fake.record(tmp_path, "head", "reference", fn=80, fp=10), tmp_path, r=8, learning_rate=0.003)
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")  # the same config: a regression again
    assert rc == 1 and "REGRESSION" in fake.row(out, "cpu-tiny", "reference") and "config changed" not in out


def test_throughput_of_runs_with_other_workers_or_threads_is_not_paired(capsys, fake, tmp_path):
    """A -n 2 run (2 arms side by side, 8 threads each) against a -n 0 one (16 threads): no ratio, no
    regression, one line saying why; runs made alike still compare."""
    for commit, tokens, workers, threads in (("base", 10000.0, 0, 16), ("head", 7250.0, 2, 8)):
        record = on_gpu(fake, tmp_path, commit, "reference", tokens, 2 * 2**30)
        record.meta_info.update(workers=workers, threads=threads)
        write_record(record, tmp_path)
        record = on_gpu(fake, tmp_path, commit, "rslora", tokens, 2 * 2**30)
        record.meta_info.update(workers=2, threads=8)
        write_record(record, tmp_path)
    rc, out, _ = compare(fake, capsys, tmp_path, "--fail-on-regression")
    reference = fake.row(out, "cpu-tiny", "reference")
    assert "not paired (workers/threads differ)" in reference and "-27.5%" not in reference
    assert "tokens/s not compared: base ran 0 worker(s) x 16 thread(s) per arm, head 2 x 8; compare runs made alike" in reference
    assert "REGRESSION" not in reference
    assert "REGRESSION**: tokens/s -27.5% (tolerance 10%)" in fake.row(out, "cpu-tiny", "rslora")
    assert rc == 1 and "1 regressed: cpu-tiny/rslora" in out


def test_records_say_how_many_workers_ran_and_on_how_many_threads(monkeypatch):
    import torch

    from fraudft.experiment.grid import worker_env
    from fraudft.results.store import meta_info

    monkeypatch.delenv("FRAUDFT_WORKERS", raising=False)
    assert meta_info()["workers"] == 0 and meta_info()["threads"] == torch.get_num_threads()
    monkeypatch.setenv("FRAUDFT_WORKERS", worker_env(0, 3, "cpu")["FRAUDFT_WORKERS"])
    assert meta_info()["workers"] == 3


@pytest.fixture
def partial_head(fake, tmp_path):
    """A partial rerun: the base ran reference, alpha_r4 and rslora; the head reran rslora only, worse."""
    for arm in ("reference", "alpha_r4", "rslora"):
        fake.record(tmp_path, "base", arm, fn=10, fp=10)
    fake.record(tmp_path, "head", "rslora", fn=12, fp=10)
    return tmp_path


def test_a_partial_rerun_judges_only_the_arms_rerun(capsys, fake, partial_head):
    """Issue 32, item 3: arms not rerun are listed once, apart, and are no regression unless --require-all."""
    rc, out, err = compare(fake, capsys, partial_head, "--fail-on-regression")
    assert rc == 0, err
    assert "| reference |" not in out and "| alpha_r4 |" not in out and "REGRESSION" not in out
    assert out.rstrip().endswith("no regressions\nmissing in head (2 arms of base not rerun; not judged, `--require-all` "
                        "counts them): cpu-tiny/reference, cpu-tiny/alpha_r4")
    assert fake.row(out, "cpu-tiny", "rslora")
    rc, out, _ = compare(fake, capsys, partial_head, "--fail-on-regression", "--require-all")
    assert rc == 1 and "2 regressed: cpu-tiny/reference, cpu-tiny/alpha_r4" in out
    assert "missing in head (2 arms of base not rerun; **REGRESSION** under --require-all)" in out


def test_arms_keeps_only_the_arms_named(capsys, fake, two_commits):
    rc, out, err = compare(fake, capsys, two_commits, "--arms", "reference,r16_d02", "--fail-on-regression")
    assert rc == 1, err
    assert fake.row(out, "cpu-tiny", "reference") and fake.row(out, "cpu-tiny", "r16_d02")
    assert not any(f"| {arm} |" in out for arm in ("untuned", "alpha_r4", "rslora", "shortcut", "positives_only"))
    assert "1 regressed: cpu-tiny/reference" in out and "not rerun" not in out and "added in head:" not in out
    rc, out, _ = compare(fake, capsys, two_commits, "--arms", "r16_d02", "--fail-on-regression")
    assert rc == 0 and "no regressions" in out
    rc, _, err = compare(fake, capsys, two_commits, "--arms", "reference,nosuch")
    assert rc == 2 and "--arms: nosuch not in the records of base or head" in err and err.count("\n") == 1
    rc, _, err = compare(fake, capsys, two_commits, "--arms", ",")
    assert rc == 2 and "--arms: got ','" in err
