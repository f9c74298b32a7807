"""fraudft.results.report and `fraudft results report`: one self-contained HTML page of a commit's records."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from fraudft.results import report, report_figures
from fraudft.results.store import load_records
from fraudft.results.table import arm_cell, summarize_arms

B = 200  # bootstrap draws: enough for the page's contents, fast


def page_of(root, commit="c1", **kw) -> str:
    path = report.write_report(load_records(root, commit), commit, root / "report.html", root=root, n_resamples=B, **kw)
    return path.read_text(encoding="utf-8")


def rows_of(page: str, table: str) -> list[str]:
    """The data-arm-row values of the rows of the table of class `table`."""
    body = page.split(f'<table class="{table}">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-arm-row="([^"]+)"', body)


def test_the_page_inlines_plotly_once_and_loads_nothing(one_commit, history_module):
    page = page_of(one_commit)
    assert page.count(get_plotlyjs()[:300]) == 1  # plotly.js, once
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=', page)  # nothing fetched
    assert page.count('class="plotly-graph-div"') >= 4


def test_the_table_holds_every_arm_with_table_py_s_cells(one_commit, history_module):
    records = load_records(one_commit, "c1")
    page = page_of(one_commit)
    assert rows_of(page, "summary") == ["untuned", "reference", "rslora"]
    assert rows_of(page, "runs") == ["untuned", "reference", "reference", "reference", "rslora"]
    reference = next(s for s in summarize_arms(records, B) if s["arm"] == "reference")
    for metric in ("mcc", "roc_auc", "recall_at_1pct_fpr"):  # decision metrics too, as table.py writes them
        assert f"<td>{arm_cell(reference, metric)}</td>" in page
    assert "— (no positive prediction)" in page  # untuned's precision: undefined, not 0
    assert 'class="failed"' in page and "OutOfMemoryError" in page


def test_expectations_are_shown_with_their_verdicts(one_commit, history_module):
    from fraudft.results.store import write_record

    for record in load_records(one_commit, "c1"):  # the expectations the runs were recorded with
        if record.arm == "reference":
            record.run_info["config"]["arm"]["expects"] = [
                {"kind": "beats", "other": ["untuned"], "metric": "mcc"},
                {"kind": "beats", "other": ["always_fraud", "surface_probe"], "metric": "mcc"}]
            write_record(record, one_commit)
    page = page_of(one_commit)
    expectations = page.split('id="expectations"', 1)[1].split("<h2", 1)[0]
    assert "beats:untuned:mcc" in expectations and "PASS" in expectations
    assert "beats:every one of always_fraud|surface_probe:mcc" in expectations
    assert "NOT JUDGED" in expectations  # those baselines have no records here


def test_history_charts_one_per_arm_with_changes_marked(one_commit, history_module):
    page = page_of(one_commit)
    history = page.split('id="history"', 1)[1].split('id="audit"', 1)[0]
    assert re.findall(r'<div data-arm-row="([^"]+)">', history) == ["reference", "rslora", "untuned"]
    assert "confirmed up" in history and '"failed"' in history and '"missing"' in history
    assert "Config changed (two configurations" in history
    assert '<li data-arm-row="reference">cpu-tiny/reference at bbbbbbb: config changed: lora.r 8 -&gt; 16</li>' in history


def test_audit_summary_from_the_records_and_what_is_missing(fake, tmp_path, history_module):
    record = fake.record(tmp_path, "c1", "reference")
    record.audit = {"worst_level": "warn", "counts": {"info": 1, "warn": 1, "fail": 0},
                    "findings": ["[info] balance train: balanced", "[warn] leakage train/test: 3 shared lines"]}
    from fraudft.results.store import write_record

    write_record(record, tmp_path)
    fake.record(tmp_path, "c1", "untuned", fn=100, fp=0)  # keeps no audit
    audit = page_of(tmp_path).split('id="audit"', 1)[1].split('id="environment"', 1)[0]
    assert "WARN" in audit and "<li>[warn] leakage train/test: 3 shared lines</li>" in audit
    assert "No audit summary in the records of cpu-tiny/untuned seed0" in audit


def test_environment_lists_device_and_libraries(fake, tmp_path, history_module):
    record = fake.record(tmp_path, "c1", "reference")
    record.meta_info = {"device": "cpu (x86_64, 2 cores)", "python": "3.11.7",
                        "libraries": {"torch": "2.13.0+cpu", "triton": None}}
    from fraudft.results.store import write_record

    write_record(record, tmp_path)
    env = page_of(tmp_path).split('id="environment"', 1)[1].split('id="runs"', 1)[0]
    assert "cpu (x86_64, 2 cores)" in env and "2.13.0+cpu" in env and "not installed" in env


def test_curves_are_thinned_with_their_ends_kept():
    x = np.arange(2001)
    (thinned,) = report_figures.thin(x)
    assert len(thinned) <= report_figures.MAX_POINTS and thinned[0] == 0 and thinned[-1] == 2000
    assert len(report_figures.thin(np.arange(10))[0]) == 10


def test_pr_curves_have_one_trace_per_scored_arm_grouped_by_arm(fake, tmp_path):
    fake.record(tmp_path, "c1", "reference")
    fake.record(tmp_path, "c1", "rslora", scores=False)  # no scores: no curve
    fig = report_figures.pr_curves(load_records(tmp_path, "c1"), "cpu-tiny")
    assert {t.legendgroup for t in fig.data} == {"reference"}
    assert report_figures.pr_curves(load_records(tmp_path, "c1"), "gpu") is None


def test_cli_writes_the_page(capsys, fake, one_commit, history_module):
    out = one_commit / "site" / "report.html"
    rc, stdout, err = fake.run(capsys, "results", "report", "c1", "--results-dir", one_commit, "--out", out,
                               "--resamples", B)
    assert rc == 0, err
    assert stdout.strip() == str(out) and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("argv, message", [
    (["--out", "{root}"], "is a folder"),
    (["--out", "{root}/r.html", "--history-last", "0"], "--history-last"),
    (["--out", "{root}/r.html", "--resamples", "5"], "--resamples"),
])
def test_cli_refuses_bad_options(capsys, fake, one_commit, argv, message):
    argv = [a.format(root=one_commit) for a in argv]
    rc, _, err = fake.run(capsys, "results", "report", "c1", "--results-dir", one_commit, *argv)
    assert rc == 2 and message in err


def test_extra_test_sets_are_shown_beside_the_in_domain_split(fake, tmp_path, history_module):
    from fraudft.results.record import Evaluation
    from fraudft.results.store import write_record

    for seed in (0, 1):
        record = fake.record(tmp_path, "c7", "reference", seed=seed)
        away = [i % 3 == 0 for i in range(60)]
        record.evaluations.append(Evaluation("extra:other", [int(y) for y in away], [int(y) for y in away],
                                             metrics={"examples_per_s": 40.0}))
        write_record(record, tmp_path)
    page = page_of(tmp_path, "c7")
    assert rows_of(page, "extra") == ["reference"]
    body = page.split('<table class="extra">', 1)[1].split("</table>", 1)[0]
    assert "<td>other</td>" in body and "<td>60 (20 fraud)</td>" in body and "mcc extra set" in body
    assert "No record holds an extra test set" not in page


# --- issue 32: the headline, colours, loss points, the sweep's slope line ------------------------

def test_the_headline_says_the_gate_and_the_findings_with_their_fix(fake, tmp_path, history_module):
    from tests.results.test_findings import shortcut_commit

    shortcut_commit(fake, tmp_path)
    page = page_of(tmp_path)
    headline = page.split('<div id="headline"', 1)[1].split("</div>", 1)[0]
    assert page.index('id="headline"') < page.index('id="table"')  # first thing under the title
    assert "no expectations in these records" in headline  # the fake arms carry none
    assert "speaker_tags check (FAIL)" in headline and "surface_probe beats reference" in headline
    assert "<code>fraudft mitigate TRAIN EVAL TEST --out-dir DIR --neutralize-speakers" in headline


def test_the_gate_verdict_names_the_failed_expectations_and_runs(one_commit):
    from fraudft.results.expectations import Verdict

    records = load_records(one_commit, "c1")
    passed = Verdict(arm="reference", expectation="beats:untuned:mcc", kind="beats", metric="mcc", status="pass",
                     delta=0.5, low=0.4, high=0.6, other="untuned", seeds=3)
    failed = Verdict(arm="reference", expectation="beats:surface_probe:mcc", kind="beats", metric="mcc", status="fail",
                     delta=-0.032, low=-0.06, high=-0.01, other="surface_probe", seeds=3)
    gate = report.gate_verdict({"cpu-tiny": [passed, failed]}, records)
    assert gate["passed"] is False and gate["text"].startswith("gate FAILED: 1 of 2 expectations passed, 1 run(s) failed")
    assert any("beats:surface_probe:mcc" in line and "-0.032" in line for line in gate["failed"])
    assert any(line.startswith("run cpu-tiny/rslora seed 0 failed: OutOfMemoryError") for line in gate["failed"])
    ok = report.gate_verdict({"cpu-tiny": [passed]}, [r for r in records if r.ok])
    assert ok == {"passed": True, "text": "gate passed: all 1 expectations passed and every run succeeded", "failed": []}


def test_the_commit_subject_comes_from_git(tmp_path):
    import subprocess

    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "Shorter runs: 中文 subject"], check=True)
    commit = subprocess.run([*git, "rev-parse", "--short=10", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert report.commit_subject(commit, tmp_path) == "Shorter runs: 中文 subject"
    assert report.commit_subject(f"{commit}-dirty-abc123", tmp_path) == "Shorter runs: 中文 subject"
    assert report.commit_subject("nogit", tmp_path) is None and report.commit_subject("0000000bad", tmp_path) is None


def test_every_arm_has_its_own_colour_the_same_in_every_figure(fake, tmp_path):
    arms = [f"arm{i:02d}" for i in range(18)]
    for i, arm in enumerate(arms):
        fake.record(tmp_path, "c1", arm, fn=5 + i, fp=5)
    records = load_records(tmp_path, "c1")
    colors = report_figures.arm_colors(arms)
    assert len(set(colors.values())) == len(arms)
    for figure in (report_figures.pr_curves(records, "cpu-tiny", colors),
                   report_figures.reliability(records, "cpu-tiny", colors=colors),
                   report_figures.loss_curves(records, "cpu-tiny", colors)):
        by_arm = {}
        for trace in figure.data:
            if trace.legendgroup in colors:
                by_arm.setdefault(trace.legendgroup, set()).add(trace.line.color)
        assert by_arm == {arm: {colors[arm]} for arm in arms}


def test_a_loss_plot_of_few_points_says_so(fake, tmp_path):
    fake.record(tmp_path, "c1", "reference")  # the fake logs 4 training losses
    record = load_records(tmp_path, "c1")[0]
    title = report_figures.loss_curves([record], "cpu-tiny").layout.title.text
    assert "few points: only 4 training loss value(s)" in title
    record.train_info["log_history"] = [{"loss": 1.0 / s, "step": s} for s in range(1, 26)]
    assert "few points" not in report_figures.loss_curves([record], "cpu-tiny").layout.title.text


def test_the_sweep_chart_draws_the_fitted_slope_line():
    from fraudft.results.sweep import sweep_summaries
    from tests.results.test_sweep import LABELS, _noisy, _record

    summaries = sweep_summaries([_record("a1", 8, _noisy(3)), _record("a2", 16, _noisy(4)), _record("a4", 32, LABELS)],
                                n_resamples=200)
    fig = report_figures.alpha_sweeps(summaries)
    (line,) = [t for t in fig.data if t.name.startswith("cpu-tiny: fitted:")]
    trend, points = summaries[0]["trend"], summaries[0]["points"]
    assert list(line.x) == [1.0, 4.0] and line.line.dash == "dash"
    assert (line.y[1] - line.y[0]) / 2 == pytest.approx(trend["slope"])  # two doublings from 1 to 4
    # log2(alpha/r) 0, 1, 2: the line's middle is the points' centroid, where a least-squares line passes
    assert np.mean(line.y) == pytest.approx(np.mean([p["value"] for p in points]))
    assert f"{trend['slope']:+.3f} per doubling" in line.name


@pytest.mark.parametrize("height", [report_figures.HEIGHT, 300])
def test_titles_sit_below_the_toolbar(height):
    fig = report_figures._layout(report_figures._go().Figure(), "t", "x", "y", height=height)
    title = fig.layout.title
    assert title.yref == "container" and title.yanchor == "top"
    top_px = (1 - title.y) * height  # the title's top, in pixels from the figure's top
    assert top_px == pytest.approx(report_figures.TOOLBAR_PX) and fig.layout.margin.t > top_px + 40
