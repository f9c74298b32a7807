"""Stored records of the grid: which can be reused, which an expectation compares, and waiting for
the ones other pytest-xdist workers are still running.

Records are read from results/<commit>/<recipe key>/, so comparisons work however and wherever the
arms ran (in this session, an earlier one on the same commit, another worker or machine).

Why expectations poll rather than being ordered by xdist: `--dist loadgroup` would put every arm an
expectation needs on one worker, and the expectations link most arms, so the grid would run on one
worker. Instead an expectation whose arms are selected in this session waits for their record files
(or skip markers) to appear, then reads them. This cannot deadlock under xdist's load scheduling
(`-n N`, the default `--dist load`, and worksteal): items are handed out in collection order, every
test_arm is collected before every test_expectation, so when a worker reaches an expectation, each
arm test it needs is already on some worker, ahead of whatever that worker waits for. Without xdist
the arm tests simply run first and nothing waits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import time
from pathlib import Path

import pytest

from fraudft.experiment.arms import arms_by_name
from fraudft.experiment.grid import (
    WorkerDied,
    failed_record,
    read_complete,
    reusable_record,
    run_task,
)
from fraudft.results.record import RunRecord
from fraudft.results.store import RecordExists
from fraudft.results.store import git_state, record_path, results_key, write_json_atomic

__all__ = ["RecordWait", "add_comparison", "arm_selected", "comparison_records", "seed_count", "reusable_record", "run_arm_process",
           "skip_marker", "successful_runs"]


def seed_count(config) -> int:
    """--seeds, else 3 for the real-model grid (-m gpu: claims about a configuration need k >= 3 seeds,
    issue 18) and 1 for the CPU grid (its 10-minute budget; a verdict there is conditional on seed 0)."""
    given = config.getoption("--seeds")
    if given is not None:
        if given < 1:
            raise pytest.UsageError(f"--seeds: got {given}, expected a positive number")
        return given
    markexpr = config.getoption("markexpr") or ""
    return 3 if "gpu" in markexpr and "not gpu" not in markexpr else 1  # as the root conftest's _selects


def arm_selected(chosen: str | None, recipe_name: str, arm) -> bool:
    """Whether this session runs the arm: named in --arms, or (no --arms) in the recipe's default grid."""
    if chosen:
        return arm.name in chosen.split(",")
    return arm.runs_in(recipe_name)


def skip_marker(record: Path) -> Path:
    """Where run_arm_process notes that an arm was skipped (a hidden file: the store ignores it)."""
    return record.with_name(f".{record.stem}.skipped")


def successful_runs(results_root: Path, recipe, arm_name: str, seeds: int, arms_file: str | None = None) -> list[RunRecord] | None:
    """The arm's successful records for seeds 0..seeds-1 of this commit (an arm without seed
    dependence, e.g. a baseline, may have only seed 0), or None if any is missing or failed."""
    commit = results_key(git_state())
    runs = []
    for seed in range(seeds):
        record = read_complete(record_path(results_root, commit, recipe.key, arm_name, seed))
        if record is None and seed > 0 and arms_by_name(arms_file)[arm_name].lora is None:
            continue  # untrained arms give the same answer for every seed
        if record is None or not record.ok:
            return None
        runs.append(record)
    return runs


def comparison_records(results_root: Path, recipe, arm, expectation, seeds: int,
                       arms_file: str | None = None) -> dict[str, list[RunRecord]]:
    """{arm name: its successful runs} of the arm and those its expectation names; skips the test
    when runs are missing."""
    runs = {name: successful_runs(results_root, recipe, name, seeds, arms_file) for name in (arm.name, *expectation.other)}
    missing = [name for name, found in runs.items() if found is None]
    if missing:
        pytest.skip(f"needs successful records of {', '.join(missing)} for this commit under {results_root}/")
    return runs


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive lock on a folder's records, across processes (xdist workers)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".records.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def add_comparison(path: Path, verdict: dict) -> None:
    """Keep an expectation's verdict in the arm's stored record (replacing one of the same comparison).
    Read, change and write under a lock: two workers judging the same arm must not lose a verdict."""
    with _locked(path.parent):
        record = json.loads(path.read_text(encoding="utf-8"))
        record["comparisons"] = [c for c in record.get("comparisons", []) if c.get("expectation") != verdict["expectation"]] + [verdict]
        write_json_atomic(record, path)


def run_arm_process(recipe, arm, seed: int, results_root: Path, env: dict[str, str] | None = None,
                    arms_file: str | None = None, overwrite: bool = False) -> RunRecord:
    """`fraudft run-arm` in a subprocess (env: e.g. the xdist worker's GPU and threads); its record.
    A successful record of this tree state is replaced only with `overwrite` (--rerun); without it,
    one there (of another config, else it was reused) fails the test in one line.

    Skips the test when the arm can't run on this data, leaving a skip marker for those who wait on
    it; a process that dies leaves a failed record with the reason and fails the test."""
    path = record_path(results_root, results_key(git_state()), recipe.key, arm.name, seed)
    try:
        result = run_task(recipe, arm.name, seed, results_root, env, arms_file, overwrite)
    except RecordExists as err:
        raise AssertionError(f"{err} (its config differs from this run's)") from None
    except WorkerDied as died:
        failed_record(recipe, arm, seed, f"WorkerDied: {died}", results_root, overwrite)
        raise AssertionError(str(died)) from None
    if result["status"] == "skipped":
        path.parent.mkdir(parents=True, exist_ok=True)
        skip_marker(path).write_text(result["reason"], encoding="utf-8")
        pytest.skip(result["reason"])
    return result["record"]


@dataclasses.dataclass(frozen=True)
class RecordWait:
    """Which arm records this session's arm tests will write, and how to wait for them."""

    selected: frozenset  # (recipe name, arm name, seed) of the arm tests selected in this session
    since: float | None  # with --rerun: only records written after this time are this session's
    timeout: float  # seconds
    active: bool  # under xdist only: without it, the arm tests already ran, in collection order

    def until_written(self, results_root: Path, recipe_name: str, recipe, arms, seeds: int, poll: float = 2.0) -> None:
        """Return once every selected (arm, seed) among these has a whole record or a skip marker;
        skip the test after the timeout."""
        if not self.active:
            return
        commit = results_key(git_state())
        wanted = [record_path(results_root, commit, recipe.key, arm, seed)
                  for arm in arms for seed in range(seeds) if (recipe_name, arm, seed) in self.selected]
        deadline = time.monotonic() + self.timeout
        while True:
            pending = [p for p in wanted if not self._written(p)]
            if not pending:
                return
            if time.monotonic() > deadline:
                pytest.skip(f"waited {self.timeout:.0f} s for records other workers were to write: "
                            + ", ".join(p.name for p in pending))
            time.sleep(poll)

    def _written(self, path: Path) -> bool:
        for candidate in (path, skip_marker(path)):
            try:
                written = candidate.stat().st_mtime
            except OSError:
                continue
            if (self.since is None or written >= self.since) and (candidate != path or read_complete(path) is not None):
                return True
        return False
