"""The ablation grid: every arm of fraudft/configs/arms.toml trains, evaluates, records and asserts.

    pytest bench                                   # CPU: tiny model, synthetic data (main job)
    pytest bench --data-dir DIR                    # the same grid on your train/eval/test.jsonl
    pytest bench -n 2                              # two arms at a time (pytest-xdist)
    pytest bench -m gpu --model PATH --data-dir DIR --seeds 3

Each (arm, seed) runs as `fraudft run-arm` in a process of its own (its peak memory is its own, a
crash is contained) and writes its record under results/<commit>/<recipe key>/; a successful record
of the same commit, recipe and arm config is reused unless --rerun. Cross-arm expectations read the
stored records, whichever process, xdist worker or machine wrote them (under xdist they wait for
the records of the arms selected in this session), and judge with a paired bootstrap over test
examples, seeds pooled per example.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.grid import (
    add_comparison,
    comparison_records,
    reusable_record,
    run_arm_process,
)
from fraudft.experiment.arms import ARMS
from fraudft.experiment.budgets import budget_violations
from fraudft.stats import metric_value, pooled_compare

RECIPE_PARAMS = [pytest.param("cpu-tiny", id="cpu-tiny"), pytest.param("gpu", id="gpu", marks=pytest.mark.gpu)]
ARM_PARAMS = [pytest.param(arm, id=arm.name) for arm in ARMS]


def _selected(request, arm) -> None:
    chosen = request.config.getoption("--arms")
    if chosen and arm.name not in chosen.split(","):
        pytest.skip(f"--arms {chosen} leaves out {arm.name}")


def check_collapse(arm, metrics: dict) -> None:
    if any(e.kind == "collapse" for e in arm.expects):
        assert metrics["recall"] == 1.0 and metrics["tn"] == 0, (
            f"expected the positive-only shortcut collapse (recall 1.0, tn 0), got {metrics}"
        )


@pytest.mark.parametrize("arm", ARM_PARAMS)
@pytest.mark.parametrize("recipe_name", RECIPE_PARAMS)
def test_arm(request, recipe_name, arm, seed, benchmark, recipe_for, results_root, session_records, arm_env):
    _selected(request, arm)
    recipe = recipe_for(recipe_name)
    record = None if request.config.getoption("--rerun") else reusable_record(results_root, recipe, arm, seed)
    if record is not None:
        session_records["reused"].append(record["path"])
    else:
        record = benchmark.pedantic(run_arm_process, args=(recipe, arm, seed, results_root, arm_env(recipe.device)),
                                    rounds=1, iterations=1)
    session_records["records"][(recipe.key, arm.name, seed)] = record
    info = record["train_info"]
    assert info["status"] == "success", f"arm {arm.name} failed: {info.get('error')}\n{info.get('traceback')}"
    metrics = record["metrics"]
    benchmark.extra_info.update(
        {k: metrics[k] for k in ("precision", "recall", "f1", "accuracy", "tn", "fp", "fn", "tp", "invalid")}
    )
    benchmark.extra_info.update({k: info.get(k) for k in ("steps", "train_seconds", "eval_seconds", "tokens_per_s",
                                                          "samples_per_s", "relative_throughput")})
    benchmark.extra_info["audit"] = record["audit"]["worst_level"]
    assert not budget_violations(record, recipe.budgets)
    check_collapse(arm, metrics)


COMPARISONS = [pytest.param(arm, e, id=f"{arm.name}-{e}") for arm in ARMS for e in arm.comparisons()]


@pytest.mark.parametrize("arm, expectation", COMPARISONS)
@pytest.mark.parametrize("recipe_name", RECIPE_PARAMS)
def test_expectation(request, recipe_name, arm, expectation, recipe_for, results_root, session_records, record_wait):
    """arm's metric is significantly above (beats) or below (worse_than) the other arm's (the strongest
    of several), on the same test set: a paired bootstrap over test examples, seeds pooled per example."""
    _selected(request, arm)
    recipe = recipe_for(recipe_name)
    seeds = request.config.getoption("--seeds")
    record_wait.until_written(results_root, recipe_name, recipe, (arm.name, *expectation.other), seeds)
    ours, others = comparison_records(results_root, recipe, arm, expectation, seeds)
    labels, metric = ours[0]["labels"], expectation.metric
    predictions = {name: [r["predictions"] for r in runs] for name, runs in others.items()}
    strongest = max(predictions, key=lambda name: metric_value(metric, labels, predictions[name]) or float("-inf"))
    result = pooled_compare(labels, [r["predictions"] for r in ours], predictions[strongest], metric)
    verdict = {"kind": expectation.kind, "other": strongest, "compared_with": list(expectation.other), **result}
    session_records["verdicts"].append((recipe.key, arm.name, verdict))
    for record in ours:  # keep the verdict in the arm's stored records too
        add_comparison(Path(record["path"]), verdict)
    wanted = "higher" if expectation.kind == "beats" else "lower"
    assert result["verdict"] == wanted, f"{arm.name} {expectation.kind} {strongest} on {metric}: expected {wanted}, got {result}"
