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
from fraudft.results.store import git_state, record_path, write_json_atomic

RECIPE = load_recipe("smoke")
WHOLE = {"schema": 1, "train_info": {"status": "success"}, "metrics": {}, "predictions": [1], "labels": [1]}


def path_of(root: Path, arm: str) -> Path:
    return record_path(root, git_state()["commit"], RECIPE.key, arm, 0)


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
