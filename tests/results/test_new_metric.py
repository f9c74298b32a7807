"""Adding a metric is one registered function: it then appears in the table, in compare and as an
expectation's metric, with no other edit (fraudft.metrics.registry is the only list of metric names)."""

from __future__ import annotations

import numpy as np
import pytest

from fraudft.metrics import registry as metrics
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
    del metrics.METRICS["accuracy"]


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
