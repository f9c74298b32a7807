"""Adding a metric is one registered function: it then appears in the table, in compare and as an
expectation's metric, with no other edit (fraudft.metrics.registry is the only list of metric names);
asked for by --metric (history, report) or named in a view (fraudft.results.views), it shows there too."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest

from fraudft.metrics import registry as metrics
from fraudft.core.errors import UsageError
from fraudft.results import views
from fraudft.experiment.arms import Arm
from fraudft.results.expectations import Expectation, judge
from fraudft.modeling.lora import LoraSettings
from fraudft.results.store import load_records


@pytest.fixture
def accuracy_metric():
    """`accuracy`, registered for this test only."""

    @metrics.register("accuracy", "predictions", True, "share of test records answered right")
    def accuracy(y, p, w):
        right = (np.asarray(p, bool) == np.asarray(y, bool)).astype(float)
        total = w.sum(axis=1)
        return (w @ right) / total, np.zeros(w.shape[0], int)

    yield accuracy
    metrics.METRICS.remove("accuracy")


def test_a_registered_metric_shows_in_table_compare_and_expectations(capsys, fake, tmp_path, accuracy_metric):
    fake.record(tmp_path, "base", "reference", fn=10, fp=10)
    fake.record(tmp_path, "head", "reference", fn=40, fp=10)
    fake.record(tmp_path, "head", "untuned", fn=100, fp=0)
    rc, out, _ = fake.run(capsys, "results", "table", "head", "--results-dir", tmp_path)
    assert rc == 0
    header = next(line for line in out.splitlines() if line.startswith("| backend |"))
    assert "| accuracy |" in header
    assert "| 0.750 |" in fake.row(out, "cpu-tiny", "reference")  # 150 of 200 right
    rc, out, _ = fake.run(capsys, "results", "compare", "base", "head", "--results-dir", tmp_path)
    assert rc == 0 and "| cpu-tiny | reference | accuracy | 0.900 → 0.750 (-0.150) | -0.150" in out

    e = Expectation("beats", ("untuned",), "accuracy")
    runs = {r.arm: [r] for r in load_records(tmp_path, "head")}
    verdict = judge(Arm("reference", "", LoraSettings(), expects=(e,)), e, runs, n_resamples=2000)
    assert verdict.passed and verdict.delta == pytest.approx(0.75 - 0.5)


def _git_commits(repo, n: int) -> list[str]:
    """n empty first-parent commits in a new git repo at `repo`, oldest first (short hashes)."""
    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q", "-b", "main")
    hashes = []
    for i in range(n):
        git("commit", "-q", "--allow-empty", "-m", f"c{i + 1}")
        hashes.append(git("rev-parse", "--short=10", "HEAD"))
    return hashes


def test_a_registered_metric_shows_in_history_when_asked(capsys, fake, tmp_path, accuracy_metric):
    c1, c2 = _git_commits(tmp_path, 2)
    root = tmp_path / "results"
    fake.record(root, c1, "reference", fn=10, fp=10)
    fake.record(root, c2, "reference", fn=40, fp=10)
    rc, out, err = fake.run(capsys, "results", "history", "--results-dir", root, "--metric", "accuracy",
                            "--metric", "mcc")
    assert rc == 0, err
    accuracy, mcc = out.split("\n\n## ")  # one history per --metric, in their order
    assert accuracy.startswith("## fraudft results history: accuracy, 2 commits")
    assert mcc.startswith("fraudft results history: mcc, 2 commits")
    reference = next(line for line in accuracy.splitlines() if line.startswith("| reference |"))
    assert "0.900" in reference and "0.750" in reference
    rc, out, err = fake.run(capsys, "results", "history", "--results-dir", root, "--metric", "accuracy", "--json")
    data = json.loads(out)
    assert rc == 0 and data["metric"] == "accuracy"
    assert [row["value"] for row in data["rows"]] == pytest.approx([0.9, 0.75])
    rc, out, err = fake.run(capsys, "results", "history", "--results-dir", root, "--metric", "accuracy",
                            "--metric", "f1", "--json")
    assert rc == 0 and [h["metric"] for h in json.loads(out)] == ["accuracy", "f1"]


def test_a_registered_metric_shows_in_the_report_when_asked(capsys, fake, tmp_path, accuracy_metric, history_module):
    fake.record(tmp_path, "c1", "reference", fn=10, fp=30)
    out = tmp_path / "report.html"
    rc, _, err = fake.run(capsys, "results", "report", "c1", "--results-dir", tmp_path, "--out", out,
                          "--resamples", 200, "--metric", "accuracy", "--metric", "brier")
    assert rc == 0, err
    page = out.read_text(encoding="utf-8")
    summary = page.split('<table class="summary">', 1)[1].split("</table>", 1)[0]
    columns = re.findall(r"<th>([^<]*)</th>", summary)
    assert columns[-2:] == ["accuracy", "brier (lower is better)"] and "mcc" not in columns
    assert re.search(r"<td>0\.800 \[0\.7\d\d, 0\.8\d\d\]</td>", summary)  # 160 of 200 right, with its interval
    history = page.split('id="history"', 1)[1].split('id="audit"', 1)[0]
    assert "History: accuracy, brier over commits" in history


def test_a_metric_named_in_a_view_shows_there(capsys, fake, tmp_path, accuracy_metric, monkeypatch):
    fake.record(tmp_path, "base", "reference", fn=10, fp=10)
    fake.record(tmp_path, "head", "reference", fn=40, fp=10)
    monkeypatch.setitem(views.VIEWS, "compare", ("accuracy", "mcc"))
    monkeypatch.setitem(views.VIEWS, "table", ("accuracy",))
    rc, out, _ = fake.run(capsys, "results", "compare", "base", "head", "--results-dir", tmp_path)
    header = next(line for line in out.splitlines() if line.startswith("| backend | arm | seeds ok |"))
    assert rc == 0 and header.startswith("| backend | arm | seeds ok | accuracy | mcc | tokens/s |")
    assert "0.900 → 0.750 (-0.150)" in fake.row(out, "cpu-tiny", "reference")
    rc, out, _ = fake.run(capsys, "results", "table", "head", "--results-dir", tmp_path)
    summary = next(line for line in out.splitlines() if line.startswith("| backend | arm | seeds ok | status |"))
    assert rc == 0 and summary == "| backend | arm | seeds ok | status | accuracy |"


def test_a_view_or_metric_option_naming_no_metric_is_one_line(capsys, fake, tmp_path, monkeypatch):
    fake.record(tmp_path, "c1", "reference")
    rc, _, err = fake.run(capsys, "results", "report", "c1", "--results-dir", tmp_path, "--out", tmp_path / "r.html",
                          "--metric", "rocauc")
    assert rc == 2 and err.count("\n") == 1
    assert "--metric: got 'rocauc', expected a metric, one of precision, recall" in err and "(did you mean roc_auc?)" in err
    monkeypatch.setitem(views.VIEWS, "compare", ("f1", "mmc"))
    with pytest.raises(UsageError, match=r"views\['compare'\]: got 'mmc'.*\(did you mean mcc\?\)"):
        views.view_metrics("compare")


def test_every_view_names_registered_metrics():
    for view, entry in views.VIEWS.items():
        names = views.view_metrics(view)
        assert names and set(names) <= set(metrics.METRICS), view
        assert entry == views.ALL or names == tuple(entry)
    assert views.view_metrics("table") == metrics.metric_names()
