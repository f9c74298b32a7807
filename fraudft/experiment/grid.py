"""Run a recipe's grid of (arm, seed) tasks on this machine or a Ray cluster; reuse what is done.

    fraudft grid --recipe cpu-tiny --jobs 2                       # this machine, two arms at a time
    fraudft grid --recipe gpu --launcher ray --address auto --seeds 3 --results-dir /shared/results

Each task runs `fraudft run-arm` in a process of its own (the same thing the bench runs), so its
memory is its own and a crash is contained. A task whose process dies (killed, out of memory,
a segfault: no record) is run once more, then recorded as failed with the reason and the grid goes
on; an arm that raises has its own failed record with the traceback and is not retried (it would
fail the same way). Successful records of this tree state (the commit, or a dirty tree's own
`<commit>-dirty-<diff hash>` folder: fraudft.results.store), recipe and arm config are reused
unless `rerun`, which also lets a task replace a successful record (run-arm --overwrite); a task
whose successful record differs in config is refused in one line without it. On Ray each task asks for one GPU when the recipe's device is cuda, and for
one CPU; its record comes back to the driver, which writes it under its own results folder when the
worker's is not shared. Ray workers must run this same checkout (the records name its commit).
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fraudft.core.errors import UsageError
from fraudft.experiment.arms import Arm, arms_by_name, named_arms
from fraudft.experiment.recipes import Recipe, load_recipe
from fraudft.experiment.runner import new_record
from fraudft.results.config_diff import CONFIG_SECTIONS, config_diff
from fraudft.results.expectations import Verdict, check_metrics_available, judge_all
from fraudft.results.record import RunRecord
from fraudft.results.views import view_metrics
from fraudft.results.store import (
    WORKERS_ENV,
    RecordExists,
    git_state,
    project_dir,
    read_record,
    record_path,
    results_key,
    write_record,
)

SKIPPED = 3  # fraudft run-arm's exit status for an arm that cannot run on this data
REFUSED = 4  # fraudft run-arm's exit status when a successful record is there (and no --overwrite)
LAUNCHERS = ("local", "ray")
RECIPE_OVERRIDES = ("model", "tokenizer", "data_dir", "device", "dtype", "extra_tests")


class WorkerDied(RuntimeError):
    """The run-arm process ended without a record (killed, out of memory, crashed)."""


@dataclass(frozen=True)
class GridConfig:
    """What `fraudft grid` runs: a recipe (with overrides), arms, seeds 0..seeds-1, and where."""

    recipe: str = "cpu-tiny"
    arms: tuple[str, ...] = ()  # empty: every arm of fraudft/configs/arms.toml
    seeds: int = 1
    results_dir: str = "results"
    launcher: str = "local"
    address: str | None = None  # a Ray cluster (e.g. "auto"); None starts Ray on this machine
    jobs: int = 1  # local: tasks at a time
    rerun: bool = False
    overrides: dict = dataclasses.field(default_factory=dict)  # model, tokenizer, data_dir, device, dtype, extra_tests
    steps: int | None = None  # another training step budget than the recipe's
    arms_file: str | None = None  # --arms-file: more arms (fraudft.experiment.arms.load_arms)

    def __post_init__(self):
        named_arms(self.arms, self.arms_file, "--arms")  # a UsageError naming an unknown arm, close matches
        if self.launcher not in LAUNCHERS:
            raise UsageError(f"--launcher: got {self.launcher!r}, expected one of {', '.join(LAUNCHERS)}")
        if self.seeds < 1 or self.jobs < 1:
            raise UsageError(f"--seeds, --jobs: got {self.seeds}, {self.jobs}, expected positive integers")
        if set(self.overrides) - set(RECIPE_OVERRIDES):
            raise UsageError(f"overrides: expected some of {', '.join(RECIPE_OVERRIDES)}, got {sorted(self.overrides)}")

    def arms_by_name(self) -> dict[str, Arm]:
        """The arms in force: the built-in ones and the arms file's."""
        return arms_by_name(self.arms_file)


# --- records -----------------------------------------------------------------------------------

def read_complete(path: Path) -> RunRecord | None:
    """A whole record at path (store.read_record's checks), or None: absent, partial or corrupt
    files are never read as results."""
    try:
        return read_record(path)
    except UsageError:
        return None


def reusable_record(results_root: Path, recipe: Recipe, arm: Arm, seed: int) -> RunRecord | None:
    """A successful record of this tree state (results_key: the commit, or a dirty tree's
    `<commit>-dirty-<diff hash>`: the same uncommitted changes), recipe, arm config and seed, or None: the
    config diff (fraudft.results.config_diff, as compare and history read it) between the stored
    record and the record this run would write finds no change in model, format, LoRA, training,
    evaluation or arm definition (expectations included)."""
    record = read_complete(record_path(results_root, results_key(git_state()), recipe.key, arm.name, seed))
    if record is None or not record.ok:
        return None
    return None if config_diff(record, new_record(arm, recipe, seed), CONFIG_SECTIONS) else record


def failed_record(recipe: Recipe, arm: Arm, seed: int, error: str, results_root: Path,
                  overwrite: bool = False) -> RunRecord:
    """Write and return the record of a task that never produced one (its process died); a
    successful record there is kept (RecordExists) unless `overwrite`."""
    record = new_record(arm, recipe, seed)
    record.train_info = {"status": "failed", "error": error}
    write_record(record, results_root, overwrite=overwrite)
    return record


# --- one task ----------------------------------------------------------------------------------

def run_arm_command(recipe: Recipe, arm: str, seed: int, results_root: Path, arms_file: str | None = None,
                    overwrite: bool = False) -> list[str]:
    """The `fraudft run-arm` command line of one task, the recipe's overrides (and the arms file,
    --overwrite) spelled out."""
    command = [sys.executable, "-m", "fraudft.cli", "run-arm", "--recipe", recipe.name, "--arm", arm,
               "--seed", str(seed), "--model", recipe.model, "--tokenizer", recipe.tokenizer,
               "--device", recipe.device, "--dtype", recipe.dtype, "--results-dir", str(results_root)]
    if recipe.data_dir is not None:
        command += ["--data-dir", str(recipe.data_dir)]
    for name, path in recipe.extra_tests:
        command += ["--extra-test", f"{name}={path}"]
    if recipe.train.max_steps > 0:
        command += ["--steps", str(recipe.train.max_steps)]  # the caller's recipe, --steps included
    if arms_file is not None:
        command += ["--arms-file", str(Path(arms_file).resolve())]
    if overwrite:
        command.append("--overwrite")
    return command


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def arm_threads(slots: int) -> int:
    """CPU threads of each of `slots` tasks side by side: the usable cores split evenly, at least one."""
    return max(1, usable_cores() // slots)


def worker_env(slot: int, slots: int, device: str) -> dict[str, str]:
    """Environment of the task running in slot `slot` of `slots` side by side: on CUDA, one GPU of
    those visible (round robin); the CPU cores split evenly between the slots (at least one each,
    arm_threads); the number of slots as FRAUDFT_WORKERS (recorded in meta_info.workers)."""
    threads = str(arm_threads(slots))
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, WORKERS_ENV: str(slots)}
    if device == "cuda":
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible:
            gpus = [g for g in visible.split(",") if g.strip()]
        else:
            import torch

            gpus = [str(i) for i in range(torch.cuda.device_count())]
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    return env


def run_task(recipe: Recipe, arm: str, seed: int, results_root: Path, env: dict[str, str] | None = None,
             arms_file: str | None = None, overwrite: bool = False) -> dict:
    """One (arm, seed) through `fraudft run-arm`: {"status": success|failed|skipped, "record"|"reason"}.

    Raises RecordExists when a successful record is there and not `overwrite` (run-arm refused
    before training), WorkerDied when the process ends without a record."""
    path_env = os.pathsep.join(p for p in (str(project_dir()), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(run_arm_command(recipe, arm, seed, results_root, arms_file, overwrite), capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": path_env, **(env or {})})
    if done.returncode == REFUSED:
        raise RecordExists((done.stderr.strip().splitlines() or ["a successful record is there"])[-1].removeprefix("error: "))
    if done.returncode == SKIPPED:
        return {"status": "skipped", "reason": (done.stderr.strip().splitlines() or ["skipped"])[-1]}
    lines = done.stdout.strip().splitlines()
    record = read_complete(Path(lines[-1])) if done.returncode in (0, 1) and lines else None
    if record is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise WorkerDied(f"fraudft run-arm {arm} seed {seed} died (exit {done.returncode}) without a record: {tail}")
    return {"status": record.status, "record": record}


# --- the grid ------------------------------------------------------------------------------------

def _outcome(arm: str, seed: int, result: dict) -> dict:
    """{"arm", "seed", "status", "metrics": {name: point value or None}, "undefined": {name: why},
    "seconds", "path", "error"}; the metrics those of the "run" view (fraudft.results.views)."""
    record: RunRecord | None = result.get("record")
    test = record.test if record is not None else None
    seconds, metrics, undefined = None, {}, {}
    if test is not None:
        seconds = (record.train_info.get("train_seconds") or 0) + (test.metrics.get("eval_seconds") or 0)
        reasons = test.metrics.get("undefined") or {}
        for name in view_metrics("run"):
            metrics[name] = test.metrics.get(name)
            if metrics[name] is None:
                undefined[name] = reasons.get(name) or "not recorded"
    return {"arm": arm, "seed": seed, "status": result["status"], "metrics": metrics, "undefined": undefined,
            "seconds": seconds, "path": record.path if record is not None else None,
            "error": (record.error if record is not None else None) or result.get("reason")}


def _with_retry(recipe: Recipe, arm: Arm, seed: int, root: Path, slots: queue.Queue, count: int,
                arms_file: str | None, overwrite: bool = False) -> dict:
    """A local task: run it (in a free slot), once more if its process died, else record it as failed."""
    slot = slots.get()
    try:
        for _ in range(2):
            try:
                return _outcome(arm.name, seed, run_task(recipe, arm.name, seed, root, worker_env(slot, count, recipe.device),
                                                         arms_file, overwrite))
            except WorkerDied as err:
                error = str(err)
    finally:
        slots.put(slot)
    record = failed_record(recipe, arm, seed, f"WorkerDied (2 attempts): {error}", root, overwrite)
    return _outcome(arm.name, seed, {"status": "failed", "record": record})


def _local(recipe: Recipe, tasks: list[tuple[Arm, int]], root: Path, jobs: int, arms_file: str | None,
           overwrite: bool = False) -> list[dict]:
    slots: queue.Queue = queue.Queue()
    for slot in range(jobs):
        slots.put(slot)
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # threads only wait on run-arm processes
        return list(pool.map(lambda task: _with_retry(recipe, *task, root, slots, jobs, arms_file, overwrite), tasks))


def _ray_task(recipe: Recipe, arm: str, seed: int, root: str, arms_file: str | None, overwrite: bool = False) -> dict:
    """A Ray task: Ray has set CUDA_VISIBLE_DEVICES (num_gpus) and the thread count (num_cpus)."""
    result = run_task(recipe, arm, seed, Path(root), {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}, arms_file,
                      overwrite)
    if "record" in result:  # the record's text travels back: the driver's folder may not be this node's
        result["record"] = json.loads(Path(result["record"].path).read_text(encoding="utf-8"))
    return result


def _ray(recipe: Recipe, tasks: list[tuple[Arm, int]], root: Path, address: str | None, arms_file: str | None,
         overwrite: bool = False) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise UsageError("--launcher ray: ray is not installed; pip install 'fraudft[ray]'") from None
    ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    remote = ray.remote(_ray_task).options(num_gpus=1 if recipe.device == "cuda" else 0, num_cpus=1,
                                           max_retries=1, retry_exceptions=[WorkerDied])
    # the arms file must be readable at the same path on every node, as the checkout is
    futures = [remote.remote(recipe, arm.name, seed, str(root), arms_file, overwrite) for arm, seed in tasks]
    outcomes = []
    for (arm, seed), future in zip(tasks, futures):
        try:
            result = ray.get(future)
        except (ray.exceptions.RayError, WorkerDied) as err:  # retried once already: recorded as failed
            reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            result = {"status": "failed", "record": failed_record(recipe, arm, seed,
                                                                  f"{type(err).__name__}: {reason}", root, overwrite)}
        else:
            data = result.get("record")
            if data is not None:
                record = RunRecord.from_dict(data)
                record.recipe = recipe.key
                path = record_path(root, results_key(record.run_info), recipe.key, arm.name, seed)
                if path.exists():
                    record.path = str(path)
                else:
                    write_record(record, root)
                result["record"] = record
        outcomes.append(_outcome(arm.name, seed, result))
    ray.shutdown()
    return outcomes


def run_grid(config: GridConfig) -> list[dict]:
    """Run (or reuse) every (arm, seed) of the config; one outcome per task, in arm and seed order."""
    recipe = load_recipe(config.recipe, **config.overrides).with_steps(config.steps)
    known = arms_by_name(config.arms_file, check=True)  # peft and the Trainer take every arm's settings
    chosen = [known[a] for a in config.arms] if config.arms else [arm for arm in known.values() if arm.runs_in(recipe.name)]
    check_metrics_available(chosen if config.arms else list(known.values()), recipe)  # before anything runs
    root = Path(config.results_dir).resolve()
    arms_file = str(Path(config.arms_file).resolve()) if config.arms_file else None
    reused, tasks = {}, []
    for arm in chosen:
        for seed in range(config.seeds):
            record = None if config.rerun else reusable_record(root, recipe, arm, seed)
            if record is not None:
                reused[(arm.name, seed)] = _outcome(arm.name, seed, {"status": "reused", "record": record})
            else:
                tasks.append((arm, seed))
    if not tasks:
        ran = []
    elif config.launcher == "ray":
        ran = _ray(recipe, tasks, root, config.address, arms_file, config.rerun)
    else:
        ran = _local(recipe, tasks, root, config.jobs, arms_file, config.rerun)
    done = {**reused, **{(o["arm"], o["seed"]): o for o in ran}}
    return [done[(arm.name, seed)] for arm in chosen for seed in range(config.seeds)]


def grid_verdicts(outcomes: list[dict]) -> list[Verdict]:
    """The library's verdict on every expectation the grid's records ran with (fraudft.results.expectations
    .judge_all; a failed arm's expectations are "not judged")."""
    records = [read_complete(Path(o["path"])) for o in outcomes if o["path"]]
    return judge_all([r for r in records if r is not None])


def summary_table(outcomes: list[dict]) -> str:
    """A fixed-width table of the outcomes (the "run" view's metrics, an undefined one `— (why)`) and a
    count line."""
    shown = view_metrics("run")

    def cell(o: dict, name: str) -> str:
        value = (o.get("metrics") or {}).get(name)
        if value is not None:
            return f"{value:.3f}"
        return f"— ({o['undefined'][name]})" if name in (o.get("undefined") or {}) else ""

    rows = [("arm", "seed", "status", *shown, "seconds", "record / reason")]
    for o in outcomes:
        rows.append((o["arm"], str(o["seed"]), o["status"], *(cell(o, name) for name in shown),
                     "" if o["seconds"] is None else f"{o['seconds']:.1f}",
                     o["path"] if o["status"] in ("success", "reused") else (o["error"] or o["path"] or "")))
    last = len(rows[0]) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(last)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:last], widths)) + "  " + row[last] for row in rows]
    counts = {s: sum(o["status"] == s for o in outcomes) for s in ("success", "reused", "failed", "skipped")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()) + f" of {len(outcomes)} tasks")
    return "\n".join(lines)
