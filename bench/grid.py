"""Stored records of the grid: which can be reused, and which an expectation compares.

Records are read from results/<commit>/<recipe key>/, so comparisons work however and wherever the
arms ran (in this session, an earlier one on the same commit, another worker or machine).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fraudft.experiment.arms import ARMS_BY_NAME
from fraudft.results.store import SCHEMA_VERSION, git_state, record_path

SKIPPED = 3  # fraudft run-arm's exit status for an arm that cannot run on this data


def _read(path: Path) -> dict | None:
    """A complete record at path, or None (absent, partial or corrupt files are never read as results)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    complete = isinstance(record, dict) and record.get("schema") == SCHEMA_VERSION and "train_info" in record
    return record | {"path": str(path)} if complete else None


def reusable_record(results_root: Path, recipe, arm, seed: int) -> dict | None:
    """A successful record of this commit (clean tree), recipe, arm config and seed, or None."""
    state = git_state()
    if state["dirty"]:
        return None  # the tree differs from the commit: its records may not be this code's
    record = _read(record_path(results_root, state["commit"], recipe.key, arm.name, seed))
    if record is None or record["train_info"].get("status") != "success":
        return None
    config = record["run_info"]["config"]
    same = config.get("backend") == _as_stored(recipe.to_dict()) and config.get("arm") == _as_stored(dataclasses.asdict(arm))
    return record if same else None


def _as_stored(config: dict) -> dict:
    """A config as it reads back from a JSON record (tuples become lists, paths strings)."""
    return json.loads(json.dumps(config, default=str))


def successful_runs(results_root: Path, recipe, arm_name: str, seeds: int) -> list[dict] | None:
    """The arm's successful records for seeds 0..seeds-1 of this commit (an arm without seed
    dependence, e.g. a baseline, may have only seed 0), or None if any is missing or failed."""
    commit = git_state()["commit"]
    runs = []
    for seed in range(seeds):
        record = _read(record_path(results_root, commit, recipe.key, arm_name, seed))
        if record is None and seed > 0 and ARMS_BY_NAME[arm_name].lora is None:
            continue  # untrained arms give the same answer for every seed
        if record is None or record["train_info"].get("status") != "success":
            return None
        runs.append(record)
    return runs


def comparison_records(results_root: Path, recipe, arm, expectation, seeds: int) -> tuple[list[dict], dict[str, list[dict]]]:
    """(the arm's runs, {other arm: its runs}) for an expectation; skips the test when runs are missing."""
    ours = successful_runs(results_root, recipe, arm.name, seeds)
    others = {name: successful_runs(results_root, recipe, name, seeds) for name in expectation.other}
    missing = [name for name, runs in ((arm.name, ours), *others.items()) if runs is None]
    if missing:
        pytest.skip(f"needs successful records of {', '.join(missing)} for this commit under {results_root}/")
    labels = ours[0]["labels"]
    if any(r["labels"] != labels for runs in (ours, *others.values()) for r in runs):
        raise AssertionError(f"{arm.name}: the compared records were tested on different examples")
    return ours, others


def run_arm_process(recipe, arm, seed: int, results_root: Path) -> dict:
    """`fraudft run-arm` in a subprocess; its record (raises Skipped when the arm can't run here)."""
    command = [sys.executable, "-m", "fraudft.cli", "run-arm", "--recipe", recipe.name, "--arm", arm.name,
               "--seed", str(seed), "--model", recipe.model, "--tokenizer", recipe.tokenizer,
               "--device", recipe.device, "--dtype", recipe.dtype, "--results-dir", str(results_root)]
    if recipe.data_dir is not None:
        command += ["--data-dir", str(recipe.data_dir)]
    if recipe.train.max_steps > 0:
        command += ["--steps", str(recipe.train.max_steps)]  # the session's recipe, --steps included
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == SKIPPED:
        pytest.skip(done.stderr.strip().splitlines()[-1])
    lines = done.stdout.strip().splitlines()
    if done.returncode not in (0, 1) or not lines or not Path(lines[-1]).is_file():
        raise AssertionError(f"fraudft run-arm {arm.name} died (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(Path(lines[-1]).read_text()) | {"path": lines[-1]}
