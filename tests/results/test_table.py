"""fraudft.results.table and `fraudft results table`: one row per run, every registered metric per arm."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudft.metrics import stats
from fraudft.metrics.registry import METRICS
from fraudft.results import table
from fraudft.results.store import load_records


def test_table_lists_each_arm_and_the_failed_one(capsys, fake, one_commit):
    rc, out, err = fake.run(capsys, "results", "table", "c1", "--results-dir", one_commit)
    assert rc == 0, err
    assert "fraudft results c1: 5 records" in out
    for arm in ("untuned", "reference", "rslora"):
        fake.row(out, "cpu-tiny", arm)
    failed = fake.row(out, "cpu-tiny", "rslora")
    cells = [c.strip() for c in failed.split(" | ")]
    assert cells[3] == "failed"
    assert "OutOfMemoryError: CUDA out of memory" in failed and "second line" not in failed
    assert "\\|" in failed  # the error's pipe is escaped: the row keeps its columns
    assert "…" in failed  # shortened
    assert failed.count(" | ") == next(line for line in out.splitlines() if line.startswith("| backend |")).count(" | ")
    seeds = [line.split(" | ")[2] for line in out.splitlines() if line.startswith("| cpu-tiny | reference | ")]
    assert seeds[:3] == ["0", "1", "2"]
    assert "### Per arm" in out
    summary = [line for line in out.splitlines() if line.startswith("| cpu-tiny | reference | 3/3 |")]
    assert summary and "±" in summary[0]
    assert "| cpu-tiny | rslora | 0/1 | failed |" in out


def test_table_arm_order_follows_the_arms_table(capsys, fake, one_commit):
    rc, out, _ = fake.run(capsys, "results", "table", "c1", "--results-dir", one_commit)
    assert rc == 0
    arms = [line.split(" | ")[1] for line in out.splitlines() if line.startswith("| cpu-tiny |")]
    assert arms[:5] == ["untuned", "reference", "reference", "reference", "rslora"]


def test_every_registered_metric_is_a_column_of_both_tables(capsys, fake, tmp_path):
    fake.record(tmp_path, "c1", "reference")
    rc, out, _ = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0 and "error" not in out.splitlines()[2]
    run_header, arm_header = (line for line in out.splitlines() if line.startswith("| backend |"))
    for name in METRICS:
        assert f"| {name} |" in run_header
        assert f"| {name}" in arm_header
    assert "| operating point (eval-chosen) |" in run_header
    assert "brier (lower is better)" in arm_header


def test_arm_intervals_come_from_fraudft_stats_with_seeds_resampled(capsys, fake, tmp_path):
    records = [fake.record(tmp_path, "c1", "reference", seed=s, fn=10 + 5 * s, fp=8) for s in (0, 1)]
    rc, out, _ = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0
    summary = fake.row(out.split("### Per arm")[1], "cpu-tiny", "reference").split(" | ")
    for column, metric in ((6, "f1"), (7, "mcc"), (9, "roc_auc")):
        values = [r.test.scores if metric == "roc_auc" else r.test.predictions for r in records]
        expected = stats.interval(fake.labels, values, metric)
        assert f"[{expected['low']:.3f}, {expected['high']:.3f}]" in summary[column], (metric, summary[column])


def test_duplicated_seeds_give_the_single_runs_interval(fake, tmp_path):
    import dataclasses

    one = [fake.record(tmp_path, "c1", "reference")]
    three = [dataclasses.replace(one[0], seed=s) for s in (0, 1, 2)]
    for metric in ("f1", "roc_auc"):
        a, b = (table.summarize_arm(runs)["metrics"][metric] for runs in (one, three))
        assert (a["low"], a["high"]) == pytest.approx((b["low"], b["high"]))


def test_undefined_metrics_show_a_dash_and_why(capsys, fake, tmp_path):
    fake.record(tmp_path, "c1", "untuned", fn=100, fp=0)  # predicts "not fraud" for all
    fake.record(tmp_path, "c1", "reference", fn=100, fp=0, scores=False)  # the same, no scores recorded
    fake.record(tmp_path, "c1", "reference", seed=1, fn=100, fp=0, scores=False)
    rc, out, _ = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0
    cells = fake.row(out, "cpu-tiny", "untuned").split(" | ")
    assert cells[7] == "— (no positive prediction)"  # precision
    assert cells[8].startswith("0.000") and cells[10].startswith("0.000")  # recall 0 and MCC 0 are defined
    assert "0.000 [0.000, 0.000]" not in cells[7]
    summary = fake.row(out.split("### Per arm")[1], "cpu-tiny", "reference").split(" | ")
    assert summary[4] == "— (no positive prediction (seed 0))"  # the first seed where it is undefined
    assert summary[9] == f"— ({table.NO_SCORES})"  # roc_auc needs scores: said, never 0
    assert fake.row(out, "cpu-tiny", "reference").split(" | ")[12] == f"— ({table.NO_SCORES})"


def test_table_backend_filter(capsys, fake, tmp_path):
    fake.record(tmp_path, "c1", "reference", backend="cpu-tiny")
    fake.record(tmp_path, "c1", "reference", backend="gpu")
    rc, out, _ = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path, "--backend", "gpu")
    assert rc == 0 and "| gpu | reference |" in out and "| cpu-tiny |" not in out
    rc, _, err = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path, "--backend", "tpu")
    assert rc == 2 and "--recipe" in err and "cpu-tiny, gpu" in err  # the option's name now, whichever spelling


def test_table_no_records_lists_the_commits_that_have_some(capsys, fake, one_commit):
    fake.record(one_commit, "c2", "reference")
    rc, out, err = fake.run(capsys, "results", "table", "deadbeef00", "--results-dir", one_commit)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: results: no records for deadbeef00")
    assert "c1 (5 records" in err and "c2 (1 records" in err


def test_table_empty_or_missing_results_dir(capsys, fake, tmp_path):
    rc, _, err = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path / "absent")
    assert rc == 2 and "no results dir" in err
    rc, _, err = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 2 and "holds none yet" in err


def test_a_corrupt_record_fails_the_table_naming_it(capsys, fake, tmp_path):
    fake.record(tmp_path, "c1", "reference")
    (tmp_path / "c1" / "cpu-tiny" / "alpha_r4-seed0.json").write_text("{not json")
    rc, out, err = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 2 and out == "" and "alpha_r4-seed0.json: not a readable JSON record" in err


def test_markdown_table_of_records_in_memory(fake, tmp_path):
    records = [fake.record(tmp_path, "c1", "reference"), fake.record(tmp_path, "c1", "untuned", fn=100, fp=0)]
    text = table.markdown_table(records)
    header = text.splitlines()[0]
    assert header.startswith("| backend | arm | seed | status |") and "error" not in header and "| mcc |" in header
    assert len(text.splitlines()) == 4 and "| 10000 |" in text
    assert len(table.records_frame(records)) == 2


def test_dirty_runs_are_marked(capsys, fake, tmp_path):
    fake.record(tmp_path, "c1", "reference", dirty=True)
    rc, out, _ = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0
    assert "success*" in fake.row(out, "cpu-tiny", "reference") and "uncommitted changes" in out


def test_records_json_roundtrip_is_what_the_table_reads(fake, tmp_path):
    record = fake.record(tmp_path, "c1", "reference")
    (loaded,) = load_records(tmp_path, "c1")
    assert loaded.test == record.test and loaded.test.labels == fake.labels
    assert table.record_metric(loaded, "f1")["value"] == pytest.approx(record.test.metrics["f1"])


def test_table_shows_padding_and_mfu_where_recorded(fake, tmp_path):
    gpu, cpu, old = (fake.record(tmp_path, "c1", arm) for arm in ("reference", "alpha_r4", "rslora"))
    gpu.train_info.update(computed_tokens=1000, padding_fraction=0.0512, mfu={"mfu": 0.2345, "reason": None})
    cpu.train_info.update(computed_tokens=1000, padding_fraction=0.0,
                             mfu={"mfu": None, "reason": "no peak FLOP/s known for cpu"})
    frame = table.records_frame([gpu, cpu, old]).set_index("arm")
    assert frame.loc["reference", "pad %"] == 5.1 and frame.loc["reference", "MFU %"] == 23.4
    assert frame.loc["alpha_r4", "pad %"] == 0 and pd.isna(frame.loc["alpha_r4", "MFU %"])
    assert pd.isna(frame.loc["rslora", "pad %"])  # a record from before the accounting
    rows = table.markdown_table([gpu, cpu]).splitlines()
    assert "| tokens/s | pad % | MFU % |" in rows[0] and "| 5.1 | 23.4 |" in rows[2]


def test_the_out_of_distribution_section_shows_in_domain_beside_each_extra_set(tmp_path, fake):
    from fraudft.results.record import Evaluation

    records = []
    for seed in (0, 1):
        record = fake.record(tmp_path, "c9", "reference", seed=seed)
        away = [i % 3 == 0 for i in range(90)]
        record.evaluations += [Evaluation("extra:other", [int(y) for y in away], [int(not y) if i < 30 else int(y)
                                                                                  for i, y in enumerate(away)],
                                          metrics={"examples_per_s": 40.0 + seed}),
                               Evaluation("extra:clean", [0] * 12, [0] * 11 + [1], metrics={"examples_per_s": 50.0})]
        records.append(record)
    text = table.extra_section(records, n_resamples=300)
    other = next(line for line in text.splitlines() if "| reference | other |" in line)
    cells = [c.strip() for c in other.split(" | ")]
    assert cells[3] == "90 (30 fraud)" and cells[-1].rstrip(" |") == "40.5"  # mean examples/s over the seeds
    assert all("[" in c for c in cells[4:8])  # MCC and F1, in-domain and extra set, each with its interval
    clean = next(line for line in text.splitlines() if "| reference | clean |" in line)
    assert "— (test labels of one class" in clean  # MCC undefined on one class: named, never 0
    assert table.extra_section([fake.record(tmp_path, "c9", "untuned")]) == ""  # no extra set: no section
    assert "### Out of distribution" in table.table_report(records, "c9", n_resamples=300)


RESULTS_COMMANDS = [("table", ["c1"]), ("compare", ["c1", "c1"]), ("power", ["c1"]), ("plot", ["c1", "--out", "PLOTS"]),
                    ("report", ["c1", "--out", "PLOTS/r.html"]), ("history", []), ("ab", ["HEAD", "HEAD", "--arm", "x"])]


@pytest.mark.parametrize("command, argv", RESULTS_COMMANDS, ids=[c for c, _ in RESULTS_COMMANDS])
@pytest.mark.parametrize("spelling", ["--recipe", "--backend"])
def test_every_results_command_takes_recipe_and_the_hidden_backend_alias(command, argv, spelling, capsys):
    from fraudft.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["results", command, *argv, spelling, "gpu"])
    assert args.recipe == "gpu" and not hasattr(args, "backend")
    with pytest.raises(SystemExit):
        parser.parse_args(["results", command, "--help"])
    help_text = capsys.readouterr().out
    assert "--recipe" in help_text and "--backend" not in help_text

