"""bench/conftest.py's progress lines: under pytest-xdist the controller prints one line per finished
arm test of a worker (the terminal shows only dots otherwise), from what the worker's report carries."""

from __future__ import annotations

import types

from bench.conftest import _XdistController, arm_progress, progress_line
from tests.results.conftest import make_record


def _item(arm="reference", seed=0, recipe="cpu-tiny"):
    return types.SimpleNamespace(callspec=types.SimpleNamespace(params={"arm": types.SimpleNamespace(name=arm),
                                                                        "recipe_name": recipe, "seed": seed}))


def _report(progress, outcome="passed", duration=41.4, worker="gw1", when="call"):
    node = types.SimpleNamespace(gateway=types.SimpleNamespace(id=worker)) if worker else None
    return types.SimpleNamespace(when=when, outcome=outcome, duration=duration, node=node,
                                 user_properties=[("fraudft_arm", progress)] if progress else [])


def test_an_arm_s_line_names_it_its_outcome_time_and_mcc(tmp_path):
    record = make_record(tmp_path, "c1", "reference", fn=10, fp=10)  # train_seconds 12.5
    progress = arm_progress(_item(), [record.path])
    mcc = record.test.metrics["mcc"]
    assert progress == {"arm": "reference", "recipe": "cpu-tiny", "seed": 0, "status": "success",
                        "train_seconds": 12.5, "mcc": mcc, "error": None}
    assert progress_line(_report(progress)) == (
        f"[gw1] arm cpu-tiny/reference seed 0: passed in 41 s (success, training 12 s, MCC {mcc:.3f})")


def test_a_failed_arm_says_its_error_and_an_arm_without_record_its_outcome(tmp_path):
    record = make_record(tmp_path, "c1", "rslora", status="failed", error="OutOfMemoryError: CUDA out of memory\nmore")
    line = progress_line(_report(arm_progress(_item("rslora"), [record.path]), outcome="failed"))
    assert line == "[gw1] arm cpu-tiny/rslora seed 0: failed in 41 s (failed, OutOfMemoryError: CUDA out of memory)"
    assert progress_line(_report(arm_progress(_item("untuned", 2), []), worker=None)) == (
        "arm cpu-tiny/untuned seed 2: passed in 41 s")
    assert progress_line(_report(None)) is None and progress_line(_report({"arm": "x"}, when="setup")) is None


def test_the_controller_prints_workers_arm_lines_only(tmp_path):
    lines = []
    reporter = types.SimpleNamespace(write_line=lines.append)
    config = types.SimpleNamespace(pluginmanager=types.SimpleNamespace(get_plugin=lambda name: reporter))
    controller = _XdistController(config)
    progress = {"arm": "reference", "recipe": "cpu-tiny", "seed": 0}
    controller.pytest_runtest_logreport(_report(progress))
    controller.pytest_runtest_logreport(_report(progress, worker=None))  # no xdist / inside a worker: nothing
    controller.pytest_runtest_logreport(_report(None))  # another test: nothing
    assert lines == ["[gw1] arm cpu-tiny/reference seed 0: passed in 41 s"]
