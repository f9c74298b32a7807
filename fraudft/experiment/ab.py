"""Run one arm with two commits' code, alternately, for `fraudft results ab`: the measurements, no statistics.

    from fraudft.experiment.ab import run_ab
    commit_a, commit_b, runs_a, runs_b = run_ab("9f68520c5c", "HEAD", "reference", repeats=5, recipe="cpu-tiny")
    # then fraudft.results.ab.ab_report(runs_a, runs_b, commit_a, commit_b, "reference", "cpu-tiny")

Each commit is checked out once, detached, into a temporary folder (`git worktree add --detach`),
and each run is `python -m fraudft.cli run-arm --recipe R --arm NAME --seed 0 --results-dir TMP
[--steps N]` in that checkout, with this interpreter (so this environment's libraries: the code is
the commit's, the libraries are not) and PYTHONPATH set to the checkout alone. The runs alternate A,
B, A, B, ... so that each pair shares the machine's state of the moment. tokens/s and peak memory
are read from the record each run writes (fraudft.results.record.RunRecord.read reads the schema-1
records of older commits too); the worktrees are removed at the end, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fraudft.core.errors import UsageError
from fraudft.results.ab import Measurement
from fraudft.results.record import RecordError, RunRecord
from fraudft.results.store import project_dir
from fraudft.results.table import peak_bytes

USAGE, SKIPPED = 2, 3  # run-arm's exit statuses for bad usage and an arm that cannot run on the data


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def resolve_commit(rev: str, repo: Path) -> str:
    """The short hash (10 characters) of the commit `rev` names in repo. Raises UsageError (one line)."""
    done = _git(repo, "rev-parse", "--verify", "--quiet", "--short=10", f"{rev}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(f"rev: {rev!r} is not a commit in {repo}, expected a commit, branch or tag")
    return done.stdout.strip()


@contextlib.contextmanager
def checkouts(commits: list[str], repo: Path) -> Iterator[dict[str, Path]]:
    """{commit: folder} of detached worktrees of each distinct commit, under a temporary folder;
    removed (`git worktree remove --force`) on the way out."""
    with tempfile.TemporaryDirectory(prefix="fraudft-ab-") as tmp:
        folders: dict[str, Path] = {}
        try:
            for commit in dict.fromkeys(commits):
                folder = Path(tmp) / commit
                done = _git(repo, "worktree", "add", "--detach", str(folder), commit)
                if done.returncode != 0:
                    raise RuntimeError(f"git worktree add {commit} failed: {done.stderr.strip()}")
                folders[commit] = folder
            yield folders
        finally:
            for folder in folders.values():
                _git(repo, "worktree", "remove", "--force", str(folder))
            _git(repo, "worktree", "prune")


def run_arm_command(recipe: str, arm: str, results_dir: Path, steps: int | None = None, seed: int = 0) -> list[str]:
    """The `fraudft run-arm` command line of one run, with this interpreter."""
    command = [sys.executable, "-m", "fraudft.cli", "run-arm", "--recipe", recipe, "--arm", arm, "--seed", str(seed),
               "--results-dir", str(results_dir)]
    return command + (["--steps", str(steps)] if steps is not None else [])


def run_once(checkout: Path, commit: str, side: str, index: int, recipe: str, arm: str, results_dir: Path,
             steps: int | None = None) -> Measurement:
    """One run-arm of the checkout's code; its tokens/s and peak memory from the record it wrote.

    A run that fails (its record says failed, or it wrote none) is a Measurement with ok False.
    Raises UsageError when run-arm refuses the arguments (an arm or recipe that commit does not
    know: exit 2) or skips the arm (exit 3)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    done = subprocess.run(run_arm_command(recipe, arm, results_dir, steps), cwd=checkout, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    last_error = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    if done.returncode in (USAGE, SKIPPED):
        raise UsageError(f"fraudft run-arm at {commit} ({side}): {last_error.removeprefix('error: ')}")
    lines = done.stdout.strip().splitlines()
    try:
        record = RunRecord.read(lines[-1]) if lines else None
    except RecordError as err:
        record, last_error = None, str(err)
    if record is None:
        return Measurement(side, index, commit, seconds=seconds, ok=False, error=f"no record (exit {done.returncode}): {last_error}")
    if record.commit != commit or record.dirty:
        raise RuntimeError(f"run-arm at {commit} recorded commit {record.commit} (dirty {record.dirty}): not the checkout's code")
    kind, memory = peak_bytes(record.train_info)
    return Measurement(side, index, commit, tokens_per_s=record.tokens_per_s if record.ok else None,
                       peak_bytes=memory if record.ok else None, memory_kind=kind, seconds=seconds, ok=record.ok,
                       error="" if record.ok else (record.error.strip().splitlines() or ["failed"])[0])


def run_ab(rev_a: str, rev_b: str, arm: str, repeats: int = 5, recipe: str = "cpu-tiny", steps: int | None = None,
           repo: Path | None = None, progress: Callable[[Measurement], None] | None = None
           ) -> tuple[str, str, list[Measurement], list[Measurement]]:
    """`repeats` runs of each commit's code on one arm, alternating A, B, A, B, ...

    Returns (commit a, commit b, runs of A, runs of B), the short hashes and the Measurements in run
    order; progress, if given, is called with each Measurement as it comes. Raises UsageError for a
    rev that is not a commit, repeats < 2, steps < 1, or an arm or recipe run-arm refuses."""
    if repeats < 2:
        raise UsageError(f"--repeats: got {repeats}, expected at least 2 (pairs for an interval)")
    if steps is not None and steps < 1:
        raise UsageError(f"--steps: got {steps}, expected a number of training steps >= 1")
    repo = Path(repo) if repo is not None else project_dir()
    commit_a, commit_b = resolve_commit(rev_a, repo), resolve_commit(rev_b, repo)
    runs: dict[str, list[Measurement]] = {"A": [], "B": []}
    with checkouts([commit_a, commit_b], repo) as folders, tempfile.TemporaryDirectory(prefix="fraudft-ab-results-") as out:
        for index in range(repeats):
            for side, commit in (("A", commit_a), ("B", commit_b)):
                results_dir = Path(out) / f"{side}{index}"  # a fresh folder: nothing reused, nothing overwritten
                measurement = run_once(folders[commit], commit, side, index, recipe, arm, results_dir, steps)
                runs[side].append(measurement)
                if progress is not None:
                    progress(measurement)
    return commit_a, commit_b, runs["A"], runs["B"]
