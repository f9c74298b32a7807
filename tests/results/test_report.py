"""fraudft.results.report: `fraudft results table|compare|plot` on fake records written under tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fraudft import cli, stats
from fraudft.results import report
from fraudft.results.store import record_path, write_json_atomic

N = 200
LABELS = [i % 2 for i in range(N)]  # 100 fraud, 100 not
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _predictions(fn: int, fp: int, seed: int) -> list[int]:
    """LABELS with `fn` positives and `fp` negatives flipped, which ones depending on the seed."""
    predictions = list(LABELS)
    positives = [i for i, y in enumerate(LABELS) if y]
    negatives = [i for i, y in enumerate(LABELS) if not y]
    shift = 7 * seed
    for i in (positives[shift:] + positives[:shift])[:fn]:
        predictions[i] = 0
    for i in (negatives[shift:] + negatives[:shift])[:fp]:
        predictions[i] = 1
    return predictions


def _metrics(predictions: list[int]) -> dict:
    tp = sum(y and p for y, p in zip(LABELS, predictions))
    fp = sum(p and not y for y, p in zip(LABELS, predictions))
    fn = sum(y and not p for y, p in zip(LABELS, predictions))
    tn = N - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    values = {"precision": precision, "recall": recall, "f1": f1}
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp, **values, "accuracy": (tp + tn) / N, "invalid": 0, "n": N,
            "undefined": [], "intervals": {k: [max(v - 0.05, 0), min(v + 0.05, 1)] for k, v in values.items()},
            "examples_per_s": 500.0, "eval_seconds": 0.4}


def make_record(root, commit: str, arm: str, seed: int = 0, backend: str = "cpu-tiny", fn: int = 10, fp: int = 10,
                tokens_per_s: float | None = 10000.0, peak_bytes: int | None = 2 * 2**30, status: str = "success",
                error: str | None = None, labels: bool = False, fingerprint: str = "testfp", dirty: bool = False) -> dict:
    """Write a record shaped like fraudft.ablation.run_arm's; return it."""
    record = {
        "schema": 1, "arm": arm, "seed": seed, "backend": backend,
        "run_info": {"commit": commit, "dirty": dirty, "date": "2026-01-01T00:00:00+00:00", "command": "pytest bench",
                     "config": {"arm": {"name": arm, "lora": None if arm == "untuned" else {"r": 8, "alpha": 16}},
                                "seed": seed, "data": {"source": "fake", "fingerprints": {"test": fingerprint}}}},
        "meta_info": {"device": "cpu"},
    }
    if status == "failed":
        record["train_info"] = {"status": "failed", "error": error or "RuntimeError: boom", "traceback": "..."}
    else:
        predictions = _predictions(fn, fp, seed)
        steps = 0 if arm == "untuned" else 40
        info = {"status": "success", "steps": steps}
        if steps:
            history = [{"loss": 2.0 / (s + 1), "step": s * 10} for s in range(1, 5)]
            history += [{"eval_loss": 1.5 / (s + 1), "step": s * 20} for s in range(1, 3)]
            info.update({"train_seconds": 12.5, "eval_seconds": 1.5, "tokens_per_s": tokens_per_s,
                         "samples_per_s": 40.0, "peak_memory": {"device": "cpu", "peak_rss_bytes": peak_bytes},
                         "log_history": history, "lora_scale": 2.0})
        record["train_info"] = info
        record["metrics"] = _metrics(predictions)
        record["predictions"] = predictions
        if labels:
            record["labels"] = list(LABELS)
    write_json_atomic(record, record_path(root, commit, backend, arm, seed))
    return record


def run(capsys, *argv) -> tuple[int, str, str]:
    """`fraudft ARGV...` in-process: (exit code, stdout, stderr)."""
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def row(out: str, backend: str, arm: str) -> str:
    """The first markdown row of (backend, arm) in out."""
    lines = [line for line in out.splitlines() if line.startswith(f"| {backend} | {arm} |")]
    assert lines, f"no row for {backend}/{arm} in:\n{out}"
    return lines[0]


@pytest.fixture
def one_commit(tmp_path):
    make_record(tmp_path, "c1", "untuned", fn=100, fp=0)
    for seed in (0, 1, 2):
        make_record(tmp_path, "c1", "reference", seed=seed, fn=10 + seed, fp=12)
    make_record(tmp_path, "c1", "rslora", status="failed",
                error="OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB | GPU 0 has a total capacity "
                      "of 79 GiB of which 1 GiB is free\nsecond line of the message")
    return tmp_path


# --- table -------------------------------------------------------------------------------------

def test_table_lists_each_arm_and_the_failed_one(capsys, one_commit):
    rc, out, err = run(capsys, "results", "table", "c1", "--results-dir", one_commit)
    assert rc == 0, err
    assert "fraudft results c1: 5 records" in out
    for arm in ("untuned", "reference", "rslora"):
        row(out, "cpu-tiny", arm)
    failed = row(out, "cpu-tiny", "rslora")
    cells = [c.strip() for c in failed.split(" | ")]
    assert cells[3] == "failed"
    assert "OutOfMemoryError: CUDA out of memory" in failed and "second line" not in failed
    assert "\\|" in failed  # the error's pipe is escaped: the row keeps its columns
    assert "…" in failed  # shortened
    assert [line.count(" | ") for line in out.splitlines() if line.startswith("| cpu-tiny | rslora")][0] == \
        [line.count(" | ") for line in out.splitlines() if line.startswith("| backend |")][0]
    # seed rows in order, then the per-arm summary (reference has three seeds)
    seeds = [line.split(" | ")[2] for line in out.splitlines() if line.startswith("| cpu-tiny | reference | ")]
    assert seeds[:3] == ["0", "1", "2"]
    assert "### Per arm" in out
    summary = [line for line in out.splitlines() if line.startswith("| cpu-tiny | reference | 3/3 |")]
    assert summary and "±" in summary[0] and "envelope of per-seed bootstraps" in summary[0]
    assert "| cpu-tiny | rslora | 0/1 | failed |" in out


def test_table_arm_order_follows_the_arms_table(capsys, one_commit):
    rc, out, _ = run(capsys, "results", "table", "c1", "--results-dir", one_commit)
    arms = [line.split(" | ")[1] for line in out.splitlines() if line.startswith("| cpu-tiny |")]
    assert arms[:5] == ["untuned", "reference", "reference", "reference", "rslora"]


def test_table_single_seeds_print_no_summary(capsys, tmp_path):
    make_record(tmp_path, "c1", "reference")
    rc, out, _ = run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0 and "Per arm" not in out and "error" not in out.splitlines()[2]


def test_table_pools_seeds_when_labels_are_stored(capsys, tmp_path):
    records = [make_record(tmp_path, "c1", "reference", seed=s, fn=10 + 5 * s, fp=8, labels=True) for s in (0, 1)]
    rc, out, _ = run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0
    summary = [line for line in out.splitlines() if line.startswith("| cpu-tiny | reference | 2/2 |")][0]
    assert "bootstrap, seeds pooled" in summary
    low, high = report.pooled_interval(LABELS, [r["predictions"] for r in records], "f1")
    assert f"[{low:.3f}, {high:.3f}]" in summary.split(" | ")[6]


def test_table_no_records_lists_the_commits_that_have_some(capsys, one_commit):
    make_record(one_commit, "c2", "reference")
    rc, out, err = run(capsys, "results", "table", "deadbeef00", "--results-dir", one_commit)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1
    assert "no records for deadbeef00" in err and "c1 (5 records" in err and "c2 (1 records" in err


def test_table_empty_or_missing_results_dir(capsys, tmp_path):
    rc, _, err = run(capsys, "results", "table", "c1", "--results-dir", tmp_path / "absent")
    assert rc == 2 and "no results dir" in err
    rc, _, err = run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 2 and "holds none yet" in err


def test_table_backend_filter(capsys, tmp_path):
    make_record(tmp_path, "c1", "reference", backend="cpu-tiny")
    make_record(tmp_path, "c1", "reference", backend="gpu")
    rc, out, _ = run(capsys, "results", "table", "c1", "--results-dir", tmp_path, "--backend", "gpu")
    assert rc == 0 and "| gpu | reference |" in out and "| cpu-tiny |" not in out
    rc, _, err = run(capsys, "results", "table", "c1", "--results-dir", tmp_path, "--backend", "tpu")
    assert rc == 2 and "--backend" in err and "cpu-tiny, gpu" in err


def test_a_corrupt_record_is_named(capsys, tmp_path):
    make_record(tmp_path, "c1", "reference")
    (tmp_path / "c1" / "cpu-tiny" / "alpha_r4-seed0.json").write_text("{not json")
    rc, _, err = run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 2 and "alpha_r4-seed0.json: not a readable JSON record" in err


def test_temp_files_of_a_run_in_progress_are_ignored(capsys, tmp_path):
    make_record(tmp_path, "c1", "reference")
    (tmp_path / "c1" / "cpu-tiny" / ".alpha_r4-seed0.json.abc123.tmp").write_text('{"half": ')
    rc, out, _ = run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0 and "alpha_r4" not in out


def test_markdown_table_keeps_its_old_call(tmp_path):
    records = [make_record(tmp_path, "c1", "reference"), make_record(tmp_path, "c1", "untuned", fn=100, fp=0)]
    text = report.markdown_table(records)
    header = text.splitlines()[0]
    assert header.startswith("| backend | arm | seed | status |") and "error" not in header
    assert len(text.splitlines()) == 4 and "| 10000 |" in text
    frame = report.records_frame(records)
    assert list(frame.columns) == report.COLUMNS and len(frame) == 2


def test_dirty_runs_are_marked(capsys, tmp_path):
    make_record(tmp_path, "c1", "reference", dirty=True)
    rc, out, _ = run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert "success*" in row(out, "cpu-tiny", "reference") and "uncommitted changes" in out


# --- compare -----------------------------------------------------------------------------------

@pytest.fixture
def two_commits(tmp_path):
    for commit in ("base", "head"):
        make_record(tmp_path, commit, "untuned", fn=100, fp=0)
    make_record(tmp_path, "base", "reference", fn=10, fp=10)
    make_record(tmp_path, "head", "reference", fn=30, fp=10)  # F1 0.900 -> 0.778: planted regression
    make_record(tmp_path, "base", "alpha_r4", tokens_per_s=10000.0)
    make_record(tmp_path, "head", "alpha_r4", tokens_per_s=8000.0)  # -20% throughput
    make_record(tmp_path, "base", "r16_d02", fn=10, fp=10, tokens_per_s=10000.0)
    make_record(tmp_path, "head", "r16_d02", fn=12, fp=10, tokens_per_s=9500.0)  # F1 -0.011, -5%: within tolerance
    make_record(tmp_path, "base", "rslora", peak_bytes=2 * 2**30)
    make_record(tmp_path, "head", "rslora", peak_bytes=int(2.5 * 2**30))  # +25% memory
    make_record(tmp_path, "base", "shortcut")  # removed
    make_record(tmp_path, "head", "positives_only", fn=0, fp=100)  # added
    return tmp_path


def test_compare_flags_planted_regressions_only(capsys, two_commits):
    rc, out, err = run(capsys, "results", "compare", "base", "head", "--results-dir", two_commits)
    assert rc == 0, err
    assert "REGRESSION**: F1 -0.1" in row(out, "cpu-tiny", "reference")
    assert "0.900 → 0.778 (-0.122)" in row(out, "cpu-tiny", "reference")
    alpha = row(out, "cpu-tiny", "alpha_r4")
    assert "REGRESSION**: tokens/s -20.0%" in alpha and "10000 → 8000 (-20.0%)" in alpha and "F1" not in alpha.split("|")[-2]
    assert row(out, "cpu-tiny", "r16_d02").rstrip(" |").endswith("ok")
    assert "REGRESSION**: peak memory +25.0%" in row(out, "cpu-tiny", "rslora")
    assert row(out, "cpu-tiny", "untuned").rstrip(" |").endswith("ok")
    assert row(out, "cpu-tiny", "shortcut").rstrip(" |").endswith("removed")
    assert row(out, "cpu-tiny", "positives_only").rstrip(" |").endswith("added")
    assert "3 regressed: cpu-tiny/reference, cpu-tiny/alpha_r4, cpu-tiny/rslora" in out
    assert "added in head: cpu-tiny/positives_only" in out and "removed in head: cpu-tiny/shortcut" in out


def test_compare_tolerances_are_options(capsys, two_commits):
    rc, out, _ = run(capsys, "results", "compare", "base", "head", "--results-dir", two_commits,
                     "--tolerance-f1", "0.2", "--tolerance-throughput", "0.3", "--tolerance-memory", "0.3")
    assert rc == 0 and "no regressions" in out and "REGRESSION" not in out
    rc, out, _ = run(capsys, "results", "compare", "base", "head", "--results-dir", two_commits, "--tolerance-f1", "0.005")
    assert "REGRESSION**: F1 -0.011" in row(out, "cpu-tiny", "r16_d02")
    rc, _, err = run(capsys, "results", "compare", "base", "head", "--results-dir", two_commits, "--tolerance-f1", "-1")
    assert rc == 2 and "--tolerance-f1" in err


def test_fail_on_regression_sets_the_exit_code(capsys, two_commits):
    rc, _, _ = run(capsys, "results", "compare", "base", "head", "--results-dir", two_commits, "--fail-on-regression")
    assert rc == 1
    rc, _, _ = run(capsys, "results", "compare", "base", "base", "--results-dir", two_commits, "--fail-on-regression")
    assert rc == 0
    rc, _, _ = run(capsys, "results", "compare", "head", "base", "--results-dir", two_commits, "--fail-on-regression")
    assert rc == 0  # the other way round everything improves; an added arm is no regression


def test_compare_a_run_that_now_fails_is_a_regression(capsys, tmp_path):
    make_record(tmp_path, "base", "reference")
    make_record(tmp_path, "head", "reference", status="failed", error="ValueError: bad shape")
    rc, out, _ = run(capsys, "results", "compare", "base", "head", "--results-dir", tmp_path, "--fail-on-regression")
    assert rc == 1 and "REGRESSION**: failed (1/1 seeds): ValueError: bad shape" in row(out, "cpu-tiny", "reference")
    rc, out, _ = run(capsys, "results", "compare", "head", "base", "--results-dir", tmp_path, "--fail-on-regression")
    assert rc == 0 and "fixed" in row(out, "cpu-tiny", "reference")


def test_compare_means_over_seeds_and_backend_filter(capsys, tmp_path):
    for seed, fn in ((0, 10), (1, 20)):
        make_record(tmp_path, "base", "reference", seed=seed, fn=fn)
    make_record(tmp_path, "head", "reference", seed=0, fn=15)
    make_record(tmp_path, "head", "reference", backend="gpu")
    rc, out, _ = run(capsys, "results", "compare", "base", "head", "--results-dir", tmp_path, "--backend", "cpu-tiny")
    line = row(out, "cpu-tiny", "reference")
    assert "2/2 → 1/1" in line and "0.850 → 0.850 (+0.000)" in line  # recall: mean(0.90, 0.80) = 0.85
    assert "| gpu |" not in out


def test_compare_significance_needs_labels(capsys, tmp_path):
    make_record(tmp_path, "base", "reference", fn=10, fp=10, labels=True)
    make_record(tmp_path, "head", "reference", fn=40, fp=10, labels=True)
    make_record(tmp_path, "base", "alpha_r4", fn=10, fp=10, labels=True)
    make_record(tmp_path, "head", "alpha_r4", fn=11, fp=10, labels=True)
    make_record(tmp_path, "base", "r16_d02", fn=10, fp=10)
    make_record(tmp_path, "head", "r16_d02", fn=40, fp=10)
    rc, out, _ = run(capsys, "results", "compare", "base", "head", "--results-dir", tmp_path)
    cells = row(out, "cpu-tiny", "reference").split(" | ")
    assert cells[6].endswith("significant") and "n.s." not in cells[6]
    assert row(out, "cpu-tiny", "alpha_r4").split(" | ")[6].endswith("n.s.")
    assert row(out, "cpu-tiny", "r16_d02").split(" | ")[6] == "—"


def test_compare_different_test_data_is_noted_not_tested(capsys, tmp_path):
    make_record(tmp_path, "base", "reference", labels=True, fingerprint="aaaa")
    make_record(tmp_path, "head", "reference", labels=True, fingerprint="bbbb")
    rc, out, _ = run(capsys, "results", "compare", "base", "head", "--results-dir", tmp_path)
    line = row(out, "cpu-tiny", "reference")
    assert "test data differs" in line and line.split(" | ")[6] == "—"


# --- statistics ---------------------------------------------------------------------------------

def test_pooled_statistics_reduce_to_fraudft_stats_with_one_seed():
    a, b = _predictions(10, 10, 0), _predictions(25, 5, 1)
    for metric in ("precision", "recall", "f1"):
        assert report.pooled_interval(LABELS, [a], metric) == pytest.approx(stats.bootstrap_interval(LABELS, a, metric))
    ours = report.pooled_compare(LABELS, [a], [b], "f1")
    theirs = stats.compare(LABELS, b, a, "f1")
    assert ours == pytest.approx(theirs)


def test_pooled_interval_resamples_examples_not_seed_copies():
    a = _predictions(20, 20, 0)
    one = report.pooled_interval(LABELS, [a], "f1")
    same_four = report.pooled_interval(LABELS, [a] * 4, "f1")
    assert same_four == pytest.approx(one)  # four identical seeds carry no more information than one
    naive = stats.bootstrap_interval(LABELS * 4, a * 4, "f1")
    assert naive[1] - naive[0] < 0.7 * (one[1] - one[0])


def test_pooled_metric_matches_the_confusion_counts():
    preds = [_predictions(10, 20, 0), _predictions(30, 0, 1)]
    tp, fp, fn = 90 + 70, 20 + 0, 10 + 30
    assert float(report._pooled_metric("precision", LABELS, preds)) == pytest.approx(tp / (tp + fp))
    assert float(report._pooled_metric("recall", LABELS, preds)) == pytest.approx(tp / (tp + fn))
    assert float(report._pooled_metric("f1", LABELS, preds)) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert float(report._pooled_metric("precision", LABELS, [[0] * N])) == 0.0


# --- plot --------------------------------------------------------------------------------------

def test_plot_writes_two_pngs(capsys, one_commit):
    make_record(one_commit, "c1", "reference", backend="gpu")
    out_dir = one_commit / "plots"
    rc, out, err = run(capsys, "results", "plot", "c1", "--results-dir", one_commit, "--out", out_dir)
    assert rc == 0, err
    paths = out.split()
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["precision_recall.png", "loss_curves.png"]
    for name in ("precision_recall.png", "loss_curves.png"):
        data = (out_dir / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1024


def test_plot_without_training_logs_still_writes_both(capsys, tmp_path):
    make_record(tmp_path, "c1", "untuned", fn=100, fp=0)
    rc, out, _ = run(capsys, "results", "plot", "c1", "--results-dir", tmp_path, "--out", tmp_path / "p")
    assert rc == 0 and (tmp_path / "p" / "loss_curves.png").read_bytes().startswith(PNG_SIGNATURE)


# --- revisions and the command ------------------------------------------------------------------

def _git(repo, *args):
    import subprocess

    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=t", "-c", "commit.gpgsign=false", *args],
                   cwd=repo, check=True, capture_output=True)


def test_rev_is_a_folder_or_a_git_revision(capsys, tmp_path, monkeypatch):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "f.txt").write_text("x")
    _git(repo, "add", "f.txt")
    _git(repo, "commit", "-q", "-m", "one")
    head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()
    root = tmp_path / "results"
    make_record(root, head, "reference")
    make_record(root, "HEAD", "untuned", fn=100, fp=0)  # a folder named like a revision wins
    monkeypatch.chdir(repo)
    assert report.resolve_results_commit(root, head) == head
    assert report.resolve_results_commit(root, "HEAD") == "HEAD"
    (root / "HEAD" / "cpu-tiny" / "untuned-seed0.json").unlink()
    (root / "HEAD" / "cpu-tiny").rmdir()
    (root / "HEAD").rmdir()
    assert report.resolve_results_commit(root, "HEAD") == head
    assert report.resolve_results_commit(root, head[:7]) == head  # an abbreviated hash
    rc, out, _ = run(capsys, "results", "table", "--results-dir", root)  # REV defaults to HEAD
    assert rc == 0 and f"fraudft results {head}" in out
    with pytest.raises(ValueError, match="nosuchrev"):
        report.resolve_results_commit(root, "nosuchrev")


def test_results_is_registered_in_the_fraudft_command(capsys, one_commit):
    from fraudft import cli

    rc = cli.main(["results", "table", "c1", "--results-dir", str(one_commit)])
    out, _ = capsys.readouterr()
    assert rc == 0 and "| cpu-tiny | rslora |" in out
    rc = cli.main(["results", "table", "nope", "--results-dir", str(one_commit)])
    _, err = capsys.readouterr()
    assert rc == 2 and err.startswith("error: results: no records for nope")


def test_records_json_roundtrip_is_what_the_report_reads(tmp_path):
    record = make_record(tmp_path, "c1", "reference", labels=True)
    (loaded,) = report.load_commit(tmp_path, "c1")
    assert loaded["predictions"] == record["predictions"] and loaded["labels"] == LABELS
    assert loaded["path"].endswith("c1/cpu-tiny/reference-seed0.json")
    assert json.loads((tmp_path / "c1" / "cpu-tiny" / "reference-seed0.json").read_text())["arm"] == "reference"
    assert np.mean(loaded["predictions"]) == pytest.approx(0.5)
