"""pytest-benchmark's timings and storage for the bench, with and without pytest-xdist.

    pytest bench --benchmark-autosave                       # saves .benchmarks/<machine>/NNNN_<commit>_<date>.json
    pytest bench --benchmark-autosave --rerun               # trains every arm again: new timings
    pytest-benchmark compare                                # every saved run, arm by arm

What an arm test enters: one round per (arm, seed), the arm's training seconds as its trainer
recorded them (train_info.train_seconds; 0 for an arm that fine-tunes no adapter: the untuned model
and the baselines), with the arm's metrics in extra_info. Not the wall time of the test, which adds
the arm process's start, model load and evaluation. A record reused from an earlier session of the
same commit (no --rerun) enters its stored time again, with extra_info["reused"] = True. An arm that
fails or is skipped is no entry (pytest reports it; the fraudft summary names failed ones).

Without xdist (-n 0) pytest-benchmark times the tests itself: test_arm runs its arm inside
`benchmark.pedantic` with `training_clock` as the timer (`@pytest.mark.benchmark(timer=...)`), a
clock that moves on by the training seconds of each arm record this process runs or reuses, so
pytest-benchmark's own round is the training time.

Under xdist pytest-benchmark switches itself off in every process (it does not believe timings of
tests running side by side). Here each worker's test sends its rounds to the controller with its
test report (`forward_rounds`, in report.user_properties), and the controller (`ControllerBenchmarks`)
builds pytest-benchmark's own Metadata/Stats objects from them and hands them to its
BenchmarkSession, which saves them (--benchmark-autosave, --benchmark-save, --benchmark-json,
--benchmark-storage), compares them (--benchmark-compare) and shows its table as without xdist.
Training times under -n N are measured with N arms side by side, each on cores // N threads: compare
runs made with the same -n on the same machine. The saved machine_info says how a run went
(`parallelism`): `xdist_workers` (0 without xdist) and `threads_per_arm`; each arm entry's extra_info
has the `workers` and `threads` its run-arm process recorded (meta_info; None in records from before).
`fraudft results compare` refuses to pair tokens/s of runs that differ in these.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

__all__ = ["ControllerBenchmarks", "FORWARD_PROPERTY", "advance_training_clock", "bench_metrics", "forwarded_under_xdist",
           "json_params",
           "make_forwarder", "metadata", "parallelism", "summary_lines", "timed_once", "training_clock", "training_seconds"]

FORWARD_PROPERTY = "pytest_benchmark_rounds"  # the user_properties key a worker's test report carries

_trained_seconds = [0.0]  # training_clock's reading: training seconds of the arms this process ran or reused


def training_clock() -> float:
    """Seconds: the training seconds of every arm record this process has run or reused so far
    (`advance_training_clock`). test_arm's pytest-benchmark timer."""
    return _trained_seconds[0]


def advance_training_clock(seconds: float) -> None:
    _trained_seconds[0] += seconds


def training_seconds(record, arm) -> float:
    """The arm's training seconds in its record (a successful RunRecord); 0.0 for an arm that fine-tunes
    no adapter and records none. Raises AssertionError naming the record when a LoRA arm has none."""
    seconds = record.train_info.get("train_seconds")
    if seconds is None and arm.lora is None:
        return 0.0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise AssertionError(f"{record.path}: train_info.train_seconds: got {seconds!r}, expected seconds >= 0")
    return float(seconds)


class _NotTimed(Exception):
    """A skip raised inside benchmark.pedantic, carried out as an Exception (see timed_once)."""


def bench_metrics(evaluation) -> dict:
    """extra_info's metrics of an evaluation (a record's test): the "bench" view's (fraudft.results.views),
    each the registry's point value from the recorded labels, predictions and scores, or None (null) where
    undefined, with {name: why} in "undefined"; never 0 in an undefined one's place."""
    from fraudft.metrics.registry import get_metric
    from fraudft.results.views import view_metrics
    from fraudft.metrics.stats import metric_value, undefined_reason

    out, undefined = {}, {}
    for name in view_metrics("bench"):
        values = evaluation.values_for(get_metric(name).needs)
        out[name] = None if values is None else metric_value(name, evaluation.labels, values)
        if out[name] is None:
            undefined[name] = "no scores recorded" if values is None else undefined_reason(name, evaluation.labels, values)
    return {**out, "undefined": undefined}


def timed_once(benchmark, target):
    """`benchmark.pedantic(target)`, one round of one iteration; its result.

    A skip raised by target skips the test and leaves pytest-benchmark no entry: pytest-benchmark
    catches Exceptions only (marking the entry as an error, which it does not save), so a skip
    (a BaseException) inside its round would leave it an entry without rounds, which fails when it
    writes its JSON."""
    skips = []

    def guarded():
        try:
            return target()
        except pytest.skip.Exception as skip:
            skips.append(skip)
            raise _NotTimed(str(skip)) from None

    try:
        return benchmark.pedantic(guarded, rounds=1, iterations=1)
    except _NotTimed:
        raise skips[0] from None


def json_params(params: dict | None) -> dict | None:
    """A test's parameters as pytest-benchmark saves them, with an arm (fraudft.experiment.arms.Arm)
    by its name (pytest-benchmark would write 'UNSERIALIZABLE[Arm(...)]')."""
    from fraudft.experiment.arms import Arm

    if params is None:
        return None
    return {key: value.name if isinstance(value, Arm) else value for key, value in params.items()}


def parallelism(config) -> dict:
    """pytest-benchmark's machine_info of this session: `xdist_workers`, the arm tests run side by side
    (pytest-xdist's workers; 0 without xdist), and `threads_per_arm`, the CPU threads of each arm's
    run-arm process (under xdist fraudft.experiment.grid.arm_threads, as conftest's arm_env gives them;
    without, the processes inherit this one's environment, so torch's threads here)."""
    import torch

    from fraudft.experiment.grid import arm_threads

    distributed = config.getoption("dist", default="no") != "no"
    workers = len(config.getoption("tx", default=None) or ()) if distributed else 0
    return {"xdist_workers": workers, "threads_per_arm": arm_threads(workers) if workers else torch.get_num_threads()}


def _benchmarks_on(config) -> bool:
    """Whether the user left pytest-benchmark on (not --benchmark-disable, --benchmark-skip)."""
    disabled = config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")
    return not disabled and not config.getoption("benchmark_skip")


def _options(config, node) -> dict:
    """The `options` pytest-benchmark saves with an entry, as its BenchmarkFixture._make_stats builds
    them from the session's options and the test's benchmark marker (written here because that
    method also registers the entry in the session, which in a worker must not save it)."""
    from pytest_benchmark.utils import funcname

    settings = dict(config._benchmarksession.options)
    marker = node.get_closest_marker("benchmark")
    settings.update(marker.kwargs if marker else {})
    timer = settings["timer"]
    precise = settings["precision"] and settings["confidence"]
    return {"disable_gc": settings["disable_gc"], "timer": funcname(getattr(timer, "target", timer)),
            "min_rounds": settings["min_rounds"], "max_time": float(settings["max_time"]),
            "min_time": float(settings["min_time"]), "precision": float(settings["precision"]) if precise else None,
            "confidence": float(settings["confidence"]) if precise else None,
            "warmup": settings["warmup"] and settings["warmup_iterations"]}


def make_forwarder(request, benchmark):
    """`forward(rounds)`: in an xdist worker, attach this test's pytest-benchmark entry (name,
    parameters, extra_info as they are now, rounds in seconds) to its report for the controller;
    elsewhere nothing (pytest-benchmark timed the test itself). Call it after filling extra_info."""
    import os

    def forward(rounds: list[float]) -> None:
        if "PYTEST_XDIST_WORKER" not in os.environ or not _benchmarks_on(request.config):
            return
        from pytest_benchmark.utils import safe_dumps

        entry = {"name": benchmark.name, "fullname": benchmark.fullname, "group": benchmark.group,
                 "param": benchmark.param, "params": json_params(benchmark.params),
                 "extra_info": benchmark.extra_info, "options": _options(request.config, request.node),
                 "rounds": [float(seconds) for seconds in rounds]}
        # plain JSON values: the report travels to the controller through execnet
        request.node.user_properties.append((FORWARD_PROPERTY, json.loads(safe_dumps(entry))))

    return forward


def forwarded_under_xdist(config, items) -> None:
    """In worker gw0 (the one pytest-benchmark warns from): when every test using its `benchmark`
    fixture forwards its rounds (uses `forward_rounds`), nothing is lost under xdist, so drop its
    "Benchmarks are automatically disabled because xdist plugin is active" warning. Tests that don't
    forward keep it."""
    session = getattr(config, "_benchmarksession", None)
    if session is None or not getattr(session, "xdist_benchmark_found", False):
        return
    timed = [item for item in items if "benchmark" in getattr(item, "fixturenames", ())]
    if all("forward_rounds" in item.fixturenames for item in timed):
        session.xdist_benchmark_found = False  # read by BenchmarkSession.pytest_unconfigure


def summary_lines(config, records) -> list[str]:
    """What the fraudft summary says of pytest-benchmark's entries when they are saved: what the
    arm entries time, and the arms of this session that are not entries because they failed."""
    saving = any(config.getoption(option) for option in ("benchmark_save", "benchmark_autosave", "benchmark_json"))
    if not saving or not _benchmarks_on(config):
        return []
    lines = ["pytest-benchmark entries of the arms: their training seconds (train_info.train_seconds), one round "
             "per arm and seed; reused records enter their stored time (extra_info reused: true; --rerun trains again)"]
    failed = sorted(f"{r.arm} seed {r.seed}" for r in records if not r.ok)
    if failed:
        lines.append(f"not entered (failed): {', '.join(failed)}")
    return lines


class ControllerBenchmarks:
    """The xdist controller's side: every forwarded entry becomes a pytest-benchmark Metadata in its
    BenchmarkSession, before the session saves and shows them (its pytest_sessionfinish)."""

    def __init__(self, config):
        self.config = config

    def pytest_runtest_logreport(self, report):
        if report.when != "call" or not _benchmarks_on(self.config):
            return
        for key, entry in report.user_properties:
            if key == FORWARD_PROPERTY:
                self.config._benchmarksession.benchmarks.append(metadata(entry))


def metadata(entry: dict):
    """pytest-benchmark's Metadata (with its Stats) of a forwarded entry: what its fixture builds in a
    timed test, so its JSON, table and comparisons are pytest-benchmark's own."""
    from pytest_benchmark.stats import Metadata

    fixture = SimpleNamespace(has_error=False, cprofile_stats=None,
                              **{k: entry[k] for k in ("name", "fullname", "group", "param", "params", "extra_info")})
    bench = Metadata(fixture, iterations=1, options=entry["options"])
    for seconds in entry["rounds"]:
        bench.update(seconds)
    return bench
