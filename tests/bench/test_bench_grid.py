"""bench/grid.py under pytest-xdist: an expectation waits for the records (or skip markers) of the arms
selected in this session, never takes a partial or, with --rerun, an older record for one, and gives
up with a skip; verdicts written back by two processes are both kept."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from bench.grid import RecordWait, add_comparison, skip_marker
from fraudft.experiment.recipes import load_recipe
from fraudft.results.store import git_state, record_path, results_key, write_json_atomic

RECIPE = load_recipe("smoke")
WHOLE = {"schema": 1, "train_info": {"status": "success"}, "metrics": {}, "predictions": [1], "labels": [1]}


def path_of(root: Path, arm: str) -> Path:
    return record_path(root, results_key(git_state()), RECIPE.key, arm, 0)


def wait(selected=(("smoke", "reference", 0),), since=None, timeout=5.0) -> RecordWait:
    return RecordWait(frozenset(selected), since, timeout, active=True)


def test_it_waits_for_a_record_another_worker_writes(tmp_path):
    path = path_of(tmp_path, "reference")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(WHOLE)[:20])  # a partial file does not count
    writer = threading.Timer(0.3, write_json_atomic, args=(WHOLE, path))
    writer.start()
    start = time.monotonic()
    wait().until_written(tmp_path, "smoke", RECIPE, ("reference", "untuned"), 1, poll=0.05)  # untuned: not selected
    assert time.monotonic() - start >= 0.25
    writer.join()


def test_a_skip_marker_ends_the_wait_and_a_timeout_skips(tmp_path):
    path = path_of(tmp_path, "reference")
    path.parent.mkdir(parents=True)
    with pytest.raises(pytest.skip.Exception, match="waited 0 s .*reference-seed0.json"):
        wait(timeout=0.1).until_written(tmp_path, "smoke", RECIPE, ("reference",), 1, poll=0.05)
    skip_marker(path).write_text("no shortcut data")
    wait(timeout=0.1).until_written(tmp_path, "smoke", RECIPE, ("reference",), 1, poll=0.05)


def test_with_rerun_an_older_record_is_not_this_sessions(tmp_path):
    path = path_of(tmp_path, "reference")
    write_json_atomic(WHOLE, path)
    os.utime(path, (time.time() - 100, time.time() - 100))
    with pytest.raises(pytest.skip.Exception):
        wait(since=time.time() - 10, timeout=0.1).until_written(tmp_path, "smoke", RECIPE, ("reference",), 1, poll=0.05)
    wait(since=time.time() - 1000, timeout=0.1).until_written(tmp_path, "smoke", RECIPE, ("reference",), 1, poll=0.05)


def _verdicts(path: str, metric: str) -> None:
    for i in range(40):
        add_comparison(Path(path), {"expectation": f"beats:arm{i}:{metric}", "metric": metric})


def test_verdicts_written_back_by_two_processes_are_all_kept(tmp_path):
    path = path_of(tmp_path, "reference")
    write_json_atomic(WHOLE, path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_verdicts, args=(str(path), metric)) for metric in ("f1", "recall")]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
        assert process.exitcode == 0
    assert len(json.loads(path.read_text())["comparisons"]) == 80


# --- usage errors before anything runs: pytest bench --arms, --data-dir --------------------------

ROOT = Path(__file__).resolve().parents[2]


def _collect(*args: str, env: dict | None = None):
    """`pytest bench --collect-only ARGS` in a subprocess: the bench's start checks run, no arm does."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "bench", "--collect-only", "-q", "-p", "no:cacheprovider", "-n", "0", *args]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FRAUDFT_DATA_DIR", "FRAUDFT_ARMS_FILE"))}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**environment, **(env or {})})


def test_an_unknown_arm_in_pytest_bench_arms_is_a_usage_error():
    done = _collect("--arms", "reference,referense")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("ERROR: --arms: got 'referense', expected an arm, one of untuned, ")
    assert line.endswith("(did you mean reference?)")
    assert "collected" not in done.stdout  # nothing was collected, let alone run


def test_an_arms_file_arm_is_known_to_pytest_bench_arms(tmp_path):
    arms = tmp_path / "arms.toml"
    arms.write_text('[[arm]]\nname = "mine"\ndescription = "r4"\nlora = {r = 4}\n', encoding="utf-8")
    done = _collect("--arms-file", str(arms), "--arms", "mine", "-k", "test_arm and cpu-tiny")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_arm[seed0-cpu-tiny-mine]" in done.stdout


@pytest.mark.parametrize("present, missing", [(("train.jsonl", "eval.csv"), "test"), (("train.jsonl", "test.parquet"), "eval")])
def test_a_data_dir_missing_a_split_is_a_usage_error(tmp_path, present, missing):
    for name in present:
        (tmp_path / name).write_text("", encoding="utf-8")
    done = _collect("--data-dir", str(tmp_path))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith(f"ERROR: {tmp_path}: data dir: no {missing} file among ")
    assert f"expected exactly one of {missing}.jsonl, {missing}.json, {missing}.csv, {missing}.parquet" in line
