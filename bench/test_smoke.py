"""CI's smoke of the benchmark: two arms on a few steps, each in its own process (and, under
pytest-xdist, on its own worker), then a check that reads both stored records, so the suite cannot rot.

    pytest bench -k smoke
    pytest bench -n 2 -k smoke        # as CI runs it: the arms side by side, the check waits for them
"""

import pytest

from bench.grid import run_arm_process
from fraudft.experiment.arms import ARMS_BY_NAME
from fraudft.experiment.budgets import budget_violations
from fraudft.experiment.recipes import load_recipe
from fraudft.results.store import git_state, load_records, results_key
from fraudft.results.table import markdown_table

SMOKE_ARMS = ("untuned", "reference")


@pytest.fixture(scope="session")
def smoke_root(shared_tmp):
    return shared_tmp / "smoke-results"


@pytest.mark.parametrize("arm", SMOKE_ARMS)
def test_smoke_arm(arm, smoke_root, arm_env):
    recipe = load_recipe("smoke")
    record = run_arm_process(recipe, ARMS_BY_NAME[arm], 0, smoke_root, arm_env(recipe.device))
    assert record.ok, record.train_info
    test = record.test
    metrics = test.metrics
    assert metrics["tn"] + metrics["fp"] + metrics["fn"] + metrics["tp"] == recipe.synthetic[2]
    assert len(test.predictions) == len(test.labels) == len(test.scores) == recipe.synthetic[2]
    assert test.operating_point is not None and test.operating_point["rule"] == str(recipe.decision)
    assert not budget_violations(record, recipe.budgets)
    if ARMS_BY_NAME[arm].lora is not None:
        assert record.steps == recipe.train.max_steps
        assert record.peak_memory["device"] == "cpu"


def test_smoke_records_make_a_table(smoke_root, record_wait):
    recipe = load_recipe("smoke")
    if not all(("smoke", arm, 0) in record_wait.selected for arm in SMOKE_ARMS):
        pytest.skip(f"the smoke arms {', '.join(SMOKE_ARMS)} are not all selected in this session")
    record_wait.until_written(smoke_root, "smoke", recipe, SMOKE_ARMS, seeds=1, poll=0.5)
    stored = load_records(smoke_root, results_key(git_state()))
    assert {r.arm for r in stored} == set(SMOKE_ARMS)
    assert all(r.ok for r in stored), [r.train_info for r in stored]
    table = markdown_table(stored)
    assert all(f"| {recipe.key} | {arm} |" in table for arm in SMOKE_ARMS), table
