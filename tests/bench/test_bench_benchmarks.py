"""bench/benchmarks.py: pytest-benchmark's storage for the grid. An arm's entry is its training
seconds with its metrics; a skip or failure leaves no entry; under pytest-xdist the controller saves
the workers' entries in pytest-benchmark's own format, without its warnings; `pytest-benchmark
compare` lists every arm of the saved runs.

    pytest bench -n 2 --arms untuned,reference --benchmark-autosave --benchmark-storage DIR
    pytest-benchmark --storage DIR compare
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from pytest_benchmark.logger import Logger
from pytest_benchmark.plugin import pytest_benchmark_generate_json
from pytest_benchmark.utils import NameWrapper

from bench.benchmarks import (
    advance_training_clock,
    json_params,
    metadata,
    timed_once,
    training_clock,
    training_seconds,
)
from fraudft.experiment.arms import ARMS_BY_NAME

ROOT = Path(__file__).resolve().parents[2]
ARMS = ("untuned", "reference")
EXTRA_INFO = {"mcc", "f1", "precision", "recall", "train_seconds", "samples_per_s", "examples_per_s",
              "peak_memory_bytes", "reused"}


def a_fixture(entries: list) -> BenchmarkFixture:
    """pytest-benchmark's own fixture of a test 'test_x[a]', timed with training_clock, its entries into `entries`."""
    node = SimpleNamespace(name="test_x[a]", nodeid="bench/test_x.py::test_x[a]")
    return BenchmarkFixture(node, disable_gc=False, timer=NameWrapper(training_clock), min_rounds=1, min_time=0,
                            max_time=1, precision=None, confidence=None, warmup=False, warmup_iterations=0,
                            calibration_precision=10, add_stats=entries.append, logger=Logger(), warner=None,
                            disabled=False, cprofile=False, cprofile_loops=None, cprofile_dump=False)


def saved(entries: list) -> list[dict]:
    return pytest_benchmark_generate_json(config=None, benchmarks=entries, include_data=True,
                                          machine_info={}, commit_info={})["benchmarks"]


def test_a_round_on_the_training_clock_is_the_training_time():
    entries = []

    def train():
        advance_training_clock(2.5)
        return "record"

    assert timed_once(a_fixture(entries), train) == "record"
    (entry,) = saved(entries)
    assert entry["stats"]["data"] == [2.5] and entry["options"]["timer"] == "training_clock"


@pytest.mark.parametrize("end", ["skip", "fail"])
def test_a_skipped_or_failed_arm_is_no_entry(end):
    entries = []

    def run():
        if end == "skip":
            pytest.skip("no shortcut on this data")
        raise AssertionError("arm reference failed")

    with pytest.raises(pytest.skip.Exception if end == "skip" else AssertionError):
        timed_once(a_fixture(entries), run)
    assert saved(entries) == []


def record(**train_info):
    return SimpleNamespace(train_info=train_info, path="results/abc/cpu-tiny/reference-seed0.json")


def test_training_seconds_of_a_record():
    assert training_seconds(record(train_seconds=31.5), ARMS_BY_NAME["reference"]) == 31.5
    assert training_seconds(record(steps=0), ARMS_BY_NAME["untuned"]) == 0.0
    with pytest.raises(AssertionError, match="reference-seed0.json: train_info.train_seconds: got None"):
        training_seconds(record(steps=200), ARMS_BY_NAME["reference"])


def test_a_forwarded_entry_becomes_pytest_benchmarks_own():
    entry = {"name": "test_arm[a]", "fullname": "bench/test_ablations.py::test_arm[a]", "group": "g", "param": "a",
             "params": json_params({"arm": ARMS_BY_NAME["reference"], "seed": 0}), "extra_info": {"mcc": 0.5},
             "options": {"timer": "training_clock"}, "rounds": [3.0]}
    (saved_entry,) = saved([metadata(entry)])
    assert saved_entry["params"] == {"arm": "reference", "seed": 0} and saved_entry["extra_info"] == {"mcc": 0.5}
    assert saved_entry["stats"]["min"] == saved_entry["stats"]["mean"] == 3.0 and saved_entry["stats"]["rounds"] == 1


# --- the real thing: pytest bench in a subprocess, twice, then pytest-benchmark compare --------------

def _bench(*args, data_dir: Path, tmp: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider", "-k", "test_arm",
               "-W", "error::pytest_benchmark.logger.PytestBenchmarkWarning", "--data-dir", str(data_dir),
               "--steps", "2", "--arms", ",".join(ARMS), "--results-dir", str(tmp / "results"),
               "--benchmark-autosave", "--benchmark-storage", str(tmp / "benchmarks"), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_the_grid_saves_every_arm_under_xdist_and_without_and_compare_lists_them(small_data_dir, tmp_path):
    """Under -n 2 (the controller writes the JSON) and then -n 0 (pytest-benchmark times the tests
    itself): the same entries, no PytestBenchmarkWarning, and `compare` lists every arm of both runs."""
    for workers in ("2", "0"):
        done = _bench("-n", workers, data_dir=small_data_dir, tmp=tmp_path)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        assert "PytestBenchmarkWarning" not in output and "automatically disabled" not in output, output[-4000:]
        if workers == "2":  # the controller's progress line per arm (issue 32: dots only, otherwise)
            assert all(re.search(rf"\[gw\d\] arm cpu-tiny/{arm} seed 0: passed in \d+ s \(success", output)
                       for arm in ARMS), output[-4000:]
    files = sorted((tmp_path / "benchmarks").glob("*/0*.json"))
    assert [f.name[:4] for f in files] == ["0001", "0002"]
    runs = [json.loads(f.read_text()) for f in files]
    for run in runs:
        by_arm = {b["params"]["arm"]: b for b in run["benchmarks"]}
        assert set(by_arm) == set(ARMS) and run["commit_info"]["id"] and run["machine_info"]["python_version"]
        for arm, bench in by_arm.items():
            assert EXTRA_INFO <= set(bench["extra_info"]), bench["extra_info"]
            assert bench["stats"]["rounds"] == 1
            assert bench["stats"]["min"] == pytest.approx(bench["extra_info"]["train_seconds"] or 0.0)
        assert by_arm["reference"]["stats"]["min"] > 0 and by_arm["reference"]["extra_info"]["steps"] == 2
    first, second = ({(b["fullname"], b["group"], tuple(sorted(b["extra_info"]))) for b in run["benchmarks"]} for run in runs)
    assert first == second
    compare = subprocess.run([sys.executable, "-m", "pytest_benchmark", "--storage", str(tmp_path / "benchmarks"),
                              "compare"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert compare.returncode == 0, compare.stderr
    for arm in ARMS:  # a row per saved run: "test_arm[seed0-cpu-tiny-reference] (0001_...)"
        assert len([line for line in compare.stdout.splitlines() if f"-{arm}] (000" in line]) == 2, compare.stdout


def test_extra_info_metrics_are_null_with_their_reason_where_undefined(monkeypatch):
    from bench.benchmarks import bench_metrics
    from fraudft.results import views
    from fraudft.results.record import RunRecord
    from fraudft.metrics.stats import metric_value

    # a committed record of a constant "not fraud" answer: precision stored as 0.0 there
    record = RunRecord.read(ROOT / "results" / "d6a083a3a0" / "cpu-tiny" / "untuned-seed0.json")
    info = bench_metrics(record.test)
    assert {"precision", "recall", "f1", "mcc"} <= set(info)
    assert info["precision"] is None and info["undefined"] == {"precision": "no positive prediction"}
    assert info["recall"] == 0.0 and info["mcc"] == 0.0
    monkeypatch.setitem(views.VIEWS, "bench", ("roc_auc", "brier"))  # the bench view says which
    info = bench_metrics(record.test)
    assert set(info) == {"roc_auc", "brier", "undefined"} and info["undefined"] == {}
    assert info["roc_auc"] == pytest.approx(metric_value("roc_auc", record.test.labels, record.test.scores))
    json.dumps(info, allow_nan=False)  # plain JSON for pytest-benchmark's file


# --- how a run went: workers and threads in the saved machine_info --------------------------------


@pytest.mark.parametrize("workers", [0, 2])
def test_saved_machine_info_says_the_workers_and_threads_per_arm(tmp_path, workers):
    """pytest-benchmark's JSON of `pytest bench -n N` (one short timed test) carries N (0 without
    xdist) and the threads each arm process gets: a -n 2 run does not read as a -n 0 one."""
    import torch

    from fraudft.experiment.grid import arm_threads

    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "pytest", "bench/test_stats_speed.py", "-k", "mcc", "-q", "-p", "no:cacheprovider",
               "-n", str(workers), "--benchmark-json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    saved_run = json.loads(out.read_text(encoding="utf-8"))
    assert saved_run["benchmarks"], saved_run  # the entry was saved (forwarded under xdist)
    machine = saved_run["machine_info"]
    assert machine["xdist_workers"] == workers
    assert machine["threads_per_arm"] == (arm_threads(workers) if workers else torch.get_num_threads())
