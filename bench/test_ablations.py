"""The ablation grid: every arm of fraudft/configs/arms.toml trains, evaluates, records and asserts.

    pytest bench                                   # CPU: tiny model, synthetic data (main job)
    pytest bench -m gpu --model PATH --data-dir DIR --seeds 3

Each run is one pedantic pytest-benchmark round; its metrics go into `extra_info` and a results
record is written under results/<commit>/<recipe>/. Cross-arm expectations are checked after the
arms they compare have run, with a paired bootstrap over the test set (seeds pooled).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudft.experiment.arms import ARMS
from fraudft.experiment.budgets import budget_violations
from fraudft.experiment.runner import ArmSkipped, run_arm
from fraudft.results.store import write_json_atomic
from fraudft.stats import compare

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
def test_arm(request, recipe_name, arm, seed, benchmark, recipe_for, splits_for, results_root, session_records):
    _selected(request, arm)
    recipe = recipe_for(recipe_name)
    splits = splits_for(recipe)
    try:
        record = benchmark.pedantic(run_arm, args=(arm, recipe, splits, seed, results_root), rounds=1, iterations=1)
    except ArmSkipped as why:
        pytest.skip(str(why))
    session_records[(recipe.name, arm.name, seed)] = record
    request.config._fraudft_records = session_records
    info = record["train_info"]
    assert info["status"] == "success", f"arm {arm.name} failed: {info.get('error')}\n{info.get('traceback')}"
    metrics = record["metrics"]
    benchmark.extra_info.update(
        {k: metrics[k] for k in ("precision", "recall", "f1", "accuracy", "tn", "fp", "fn", "tp", "invalid")}
    )
    benchmark.extra_info.update({k: info.get(k) for k in ("steps", "train_seconds", "eval_seconds", "tokens_per_s", "samples_per_s")})
    benchmark.extra_info["audit"] = record["audit"]["worst_level"]
    assert not budget_violations(record, recipe.budgets)
    check_collapse(arm, metrics)


def _pooled(session_records, recipe_name: str, arm_name: str):
    runs = sorted((seed, r) for (b, a, seed), r in session_records.items() if b == recipe_name and a == arm_name)
    if not runs or any(r["train_info"]["status"] != "success" for _, r in runs):
        return None
    return {seed: r for seed, r in runs}


COMPARISONS = [pytest.param(arm, e, id=f"{arm.name}-{e.kind}-{e.other}") for arm in ARMS for e in arm.comparisons()]


@pytest.mark.parametrize("arm, expectation", COMPARISONS)
@pytest.mark.parametrize("recipe_name", RECIPE_PARAMS)
def test_expectation(request, recipe_name, arm, expectation, recipe_for, session_records):
    """arm's metric is significantly above (beats) or below (worse_than) the other arm's, same test set."""
    _selected(request, arm)
    recipe = recipe_for(recipe_name)
    kind, other = expectation.kind, expectation.other
    ours, theirs = (_pooled(session_records, recipe.name, name) for name in (arm.name, other))
    if ours is None or theirs is None:
        pytest.skip(f"needs successful runs of {arm.name} and {other} in this session")
    # Seeds are paired where both arms have them; an arm without seed dependence (untuned) reuses seed 0's run.
    seeds = sorted(ours)
    pairs = [(ours[s], theirs.get(s, theirs[min(theirs)])) for s in seeds]
    labels = [y for a, _ in pairs for y in a["labels"]]
    result = compare(labels, [p for a, _ in pairs for p in a["predictions"]],
                     [p for _, b in pairs for p in b["predictions"]], expectation.metric)
    for a, _ in pairs:  # keep the verdict in the arm's stored record too
        a.setdefault("comparisons", []).append({"kind": kind, "other": other, **result})
        if "path" in a:
            write_json_atomic({k: v for k, v in a.items() if k != "path"}, Path(a["path"]))
    if kind == "beats":
        assert result["significant"] and result["delta"] > 0, f"{arm.name} does not beat {other}: {result}"
    else:
        assert result["significant"] and result["delta"] < 0, f"{arm.name} is not clearly worse than {other}: {result}"
