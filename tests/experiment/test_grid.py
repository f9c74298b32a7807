"""fraudft.experiment.grid: the grid runs each (arm, seed) as a run-arm process, here or on Ray;
reuses successful records, reruns partial or corrupt ones, and records a dead worker as failed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fraudft.core.errors import UsageError
from fraudft.experiment import grid
from fraudft.experiment.arms import ARMS_BY_NAME
from fraudft.experiment.grid import (
    GridConfig,
    read_complete,
    reusable_record,
    run_grid,
    worker_env,
)
from fraudft.experiment.recipes import load_recipe
from fraudft.results.store import git_state, read_record, record_path, results_key

COMMIT = git_state()["commit"]
KEY = results_key(git_state())  # the records folder of this tree: the commit, or <commit>-dirty-<diff hash>


def whole_record(**fields) -> dict:
    return {"schema": 1, "train_info": {"status": "success"}, "metrics": {"f1": 0.5}, "predictions": [1, 0],
            "labels": [1, 1], **fields}


@pytest.mark.parametrize("text", ["", '{"schema": 1, "train_info": {"status": "succ', "[1, 2]",
                                  json.dumps(whole_record(schema=0)), json.dumps(whole_record(predictions=[]))])
def test_a_partial_or_corrupt_record_is_never_read(tmp_path, text):
    path = tmp_path / "reference-seed0.json"
    path.write_text(text)
    assert read_complete(path) is None
    assert read_complete(tmp_path / "absent-seed0.json") is None
    path.write_text(json.dumps(whole_record()))
    assert read_complete(path).test.predictions == [1, 0]


def test_the_local_grid_runs_reuses_and_reruns_a_corrupt_record(tmp_path, run_cli):
    argv = ["grid", "--recipe", "smoke", "--arms", "always_fraud", "--results-dir", tmp_path]
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    assert "always_fraud  0     success" in out and "1 success, 0 reused" in out
    recipe = load_recipe("smoke")
    path = record_path(tmp_path, KEY, recipe.key, "always_fraud", 0)
    assert read_record(path).status == "success"

    rc, out, _ = run_cli(*argv)
    assert rc == 0 and "always_fraud  0     reused" in out and "0 success, 1 reused" in out

    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # a writer killed half-way (not through write_json_atomic)
    assert reusable_record(tmp_path, recipe, ARMS_BY_NAME["always_fraud"], 0) is None
    rc, out, _ = run_cli(*argv)
    assert rc == 0 and "1 success, 0 reused" in out
    assert read_record(path).status == "success"


def test_a_dead_worker_is_retried_once_then_recorded_as_failed(tmp_path, monkeypatch):
    deaths = tmp_path / "deaths"
    real = grid.run_arm_command

    def dying(recipe, arm, seed, root, *rest):
        if arm != "untuned":
            return real(recipe, arm, seed, root, *rest)
        return [sys.executable, "-c", f"import os, signal; open({str(deaths)!r}, 'a').write('x');"
                                      "os.kill(os.getpid(), signal.SIGKILL)"]

    monkeypatch.setattr(grid, "run_arm_command", dying)
    outcomes = run_grid(GridConfig(recipe="smoke", arms=("untuned", "always_fraud"), results_dir=str(tmp_path), jobs=2))
    assert [(o["arm"], o["status"]) for o in outcomes] == [("untuned", "failed"), ("always_fraud", "success")]
    assert deaths.read_text() == "xx"  # tried, then once more
    failed = read_record(record_path(tmp_path, KEY, load_recipe("smoke").key, "untuned", 0))
    assert failed.status == "failed"
    assert "WorkerDied (2 attempts)" in failed.error and "exit -9" in failed.error
    table = grid.summary_table(outcomes)
    assert "untuned       0     failed" in table and "1 success, 0 reused, 1 failed" in table


def test_the_ray_grid_runs_on_this_machine_without_a_cluster(tmp_path):
    pytest.importorskip("ray")
    outcomes = run_grid(GridConfig(recipe="smoke", arms=("always_fraud", "surface_probe"), results_dir=str(tmp_path),
                                   launcher="ray"))
    assert [(o["arm"], o["status"]) for o in outcomes] == [("always_fraud", "success"), ("surface_probe", "success")]
    for outcome in outcomes:
        record = read_record(outcome["path"])
        assert record.commit == COMMIT and record.test.labels and record.test.scores


def test_worker_env_splits_the_cores_and_pins_one_gpu_per_slot(monkeypatch):
    monkeypatch.setattr(grid, "usable_cores", lambda: 16)
    assert worker_env(1, 4, "cpu") == {"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "4", "FRAUDFT_WORKERS": "4"}
    assert worker_env(0, 32, "cpu")["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert [worker_env(slot, 2, "cuda")["CUDA_VISIBLE_DEVICES"] for slot in range(3)] == ["3", "5", "3"]
    assert "CUDA_VISIBLE_DEVICES" not in worker_env(0, 2, "cpu")


@pytest.mark.parametrize("fields, message", [({"arms": ("nope",)}, "--arms: got 'nope', expected an arm, one of untuned, "),
                                             ({"launcher": "slurm"}, "--launcher"), ({"jobs": 0}, "--jobs")])
def test_a_bad_grid_config_is_a_usage_error(fields, message):
    with pytest.raises(UsageError, match=message):
        GridConfig(**fields)


def test_an_arm_name_typo_in_grid_names_the_close_match_before_anything_runs(run_cli, monkeypatch):
    ran = []
    monkeypatch.setattr(grid, "_local", lambda *args: ran.append(args) or [])
    rc, out, err = run_cli("grid", "--recipe", "smoke", "--arms", "reference,referense,rslor")
    assert rc == 2 and not ran and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: --arms: got 'referense', expected an arm, one of untuned, ")
    assert "(did you mean reference?); --arms: got 'rslor'" in line and line.endswith("(did you mean rslora?)")


def test_an_arm_name_typo_in_run_arm_names_the_close_match_before_anything_runs(run_cli, monkeypatch):
    import fraudft.experiment.runner

    monkeypatch.setattr(fraudft.experiment.runner, "splits_of", lambda recipe: pytest.fail("loaded data"))
    rc, out, err = run_cli("run-arm", "--recipe", "smoke", "--arm", "referense")
    assert rc == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: --arm: got 'referense', expected an arm, one of untuned, ")
    assert line.endswith("(did you mean reference?)")


def test_the_run_arm_command_carries_the_extra_test_sets(tmp_path):
    import dataclasses


    recipe = dataclasses.replace(load_recipe("smoke"), extra_tests=(("other", "/d/o.jsonl"), ("b", "/d/b.csv")))
    command = grid.run_arm_command(recipe, "reference", 0, tmp_path)
    assert command[command.index("--extra-test") :][:4] == ["--extra-test", "other=/d/o.jsonl", "--extra-test", "b=/d/b.csv"]
    assert "extra_tests" not in load_recipe("smoke").to_dict()  # records without extra sets read as before


def test_the_summary_shows_an_undefined_metric_as_null_with_its_reason(monkeypatch):
    from fraudft.results import views

    # a committed record of a constant "not fraud" answer (stored with precision 0.0 by an older fraudft)
    path = Path(__file__).resolve().parents[2] / "results" / "d6a083a3a0" / "cpu-tiny" / "untuned-seed0.json"
    monkeypatch.setitem(views.VIEWS, "run", ("precision", "f1"))
    outcome = grid._outcome("untuned", 0, {"status": "success", "record": read_record(path)})
    assert outcome["metrics"] == {"precision": None, "f1": 0.0}
    assert outcome["undefined"] == {"precision": "no positive prediction"}
    header, row = grid.summary_table([outcome]).splitlines()[:2]
    assert header.split()[:5] == ["arm", "seed", "status", "precision", "f1"]
    assert "— (no positive prediction)  0.000" in row
