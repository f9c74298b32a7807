"""The ablation grid: every arm of fraudft/configs/arms.toml trains, evaluates, records and asserts.

    pytest bench                                   # CPU: tiny model, synthetic data (main job)
    pytest bench --data-dir DIR                    # the same grid on your train/eval/test (.jsonl/.json/.csv/.parquet)
    pytest bench -n 2                              # two arms at a time (pytest-xdist)
    pytest bench -m gpu --model PATH --data-dir DIR --seeds 3
    pytest bench --arms-file my_arms.toml --arms dora,reference   # arms of your own too (env FRAUDFT_ARMS_FILE)

Each (arm, seed) runs as `fraudft run-arm` in a process of its own (its peak memory is its own, a
crash is contained) and writes its record under results/<commit>/<recipe key>/; a successful record
of the same commit, recipe and arm config is reused unless --rerun. Cross-arm expectations read the
stored records, whichever process, xdist worker or machine wrote them (under xdist they wait for
the records of the arms selected in this session); the library judges them
(fraudft.results.expectations) and the test asserts its verdict. The bench's gate (green or red)
is the conjunction of every arm test and every expectation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.benchmarks import advance_training_clock, bench_metrics, timed_once, training_clock, training_seconds
from bench.grid import (
    add_comparison,
    arm_selected,
    seed_count,
    comparison_records,
    reusable_record,
    run_arm_process,
)
from fraudft.experiment.budgets import budget_violations
from fraudft.results.expectations import judge
from fraudft.results.table import peak_bytes

# test_arm and test_expectation are parametrized over the recipes and the arms in force (built-in and
# --arms-file's) by bench/conftest.py's pytest_generate_tests.


def _arms_file(config) -> str | None:
    return config.getoption("--arms-file")


def _selected(request, recipe_name, arm) -> None:
    if not arm_selected(request.config.getoption("--arms"), recipe_name, arm):
        pytest.skip(f"{arm.name}: not in this run (--arms {request.config.getoption('--arms')}; "
                    f"the {recipe_name} grid runs it only when --arms names it)" if arm.recipes else
                    f"--arms {request.config.getoption('--arms')} leaves out {arm.name}")


@pytest.mark.benchmark(timer=training_clock)
def test_arm(request, recipe_name, arm, seed, benchmark, forward_rounds, recipe_for, results_root, session_records, arm_env):
    """The arm trains (or its record of this commit is reused), evaluates and meets its budgets; its
    training seconds and metrics are its pytest-benchmark entry (bench/benchmarks.py)."""
    _selected(request, recipe_name, arm)
    recipe = recipe_for(recipe_name)
    reused = None if request.config.getoption("--rerun") else reusable_record(results_root, recipe, arm, seed)
    if reused is not None:
        session_records["reused"].append(reused.path)

    # pytest-benchmark's group, set before the round: one per recipe and data, the untrained arms apart
    # (their 0 s would be the best time of the group, every other one infinitely worse)
    benchmark.group = f"{recipe.key}: training seconds" + ("" if arm.lora else ", arms that train no adapter")

    def run():  # pytest-benchmark's round: training_clock moves on by the arm's training seconds
        record = reused or run_arm_process(recipe, arm, seed, results_root, arm_env(recipe.device),
                                           _arms_file(request.config), overwrite=request.config.getoption("--rerun"))
        session_records["records"][(recipe.key, arm.name, seed)] = record.path
        assert record.ok, f"arm {arm.name} failed: {record.error}\n{record.train_info.get('traceback')}"
        advance_training_clock(training_seconds(record, arm))
        return record

    record = timed_once(benchmark, run)
    metrics, info, test = record.test.metrics, record.train_info, record.test
    benchmark.extra_info.update({k: metrics.get(k) for k in ("accuracy", "tn", "fp", "fn", "tp", "invalid")})
    # the bench view's metrics (fraudft.results.views): an undefined one null, its reason in "undefined"
    benchmark.extra_info.update(bench_metrics(test))
    benchmark.extra_info.update({k: info.get(k) for k in ("steps", "train_seconds", "tokens_per_s",
                                                          "samples_per_s", "relative_throughput")})
    benchmark.extra_info["eval_seconds"] = metrics.get("eval_seconds")
    benchmark.extra_info["examples_per_s"] = metrics.get("examples_per_s")  # evaluation
    kind, peak = peak_bytes(info)
    benchmark.extra_info.update(peak_memory_kind=kind, peak_memory_bytes=peak)
    benchmark.extra_info["audit"] = (record.audit or {}).get("worst_level")
    benchmark.extra_info["reused"] = reused is not None
    benchmark.extra_info.update({k: (record.meta_info or {}).get(k) for k in ("workers", "threads")})  # as it ran
    forward_rounds([training_seconds(record, arm)])
    assert not budget_violations(record, recipe.budgets)


def test_expectation(request, recipe_name, arm, expectation, recipe_for, results_root, session_records, record_wait):
    """What fraudft.results.expectations judges of the arm's expectation on the stored records of
    this commit (beats: significantly better than every named arm; collapse: "fraud" to everything)."""
    _selected(request, recipe_name, arm)
    recipe = recipe_for(recipe_name)
    seeds = seed_count(request.config)
    record_wait.until_written(results_root, recipe_name, recipe, (arm.name, *expectation.other), seeds)
    runs = comparison_records(results_root, recipe, arm, expectation, seeds, _arms_file(request.config))
    verdict = judge(arm, expectation, runs)
    session_records["verdicts"].append((recipe.key, arm.name, verdict.to_dict()))
    for record in runs[arm.name]:  # keep the verdict in the arm's stored records too
        add_comparison(Path(record.path), verdict.to_dict())
    assert verdict.passed, verdict.summary()
