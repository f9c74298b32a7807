"""CI's smoke of the benchmark: two arms on a few steps, so the suite cannot rot.

    pytest bench -k smoke
"""

from fraudft.experiment.arms import ARMS_BY_NAME
from fraudft.experiment.budgets import budget_violations
from fraudft.experiment.recipes import load_recipe
from fraudft.experiment.runner import run_arm, splits_of
from fraudft.results.report import markdown_table
from fraudft.results.store import load_records


def test_smoke_two_arms_write_records_and_a_table(tmp_path):
    recipe = load_recipe("smoke")
    splits = splits_of(recipe)
    records = [run_arm(ARMS_BY_NAME[name], recipe, splits, seed=0, results_root=tmp_path)
               for name in ("untuned", "reference")]
    for record in records:
        assert record["train_info"]["status"] == "success", record["train_info"]
        metrics = record["metrics"]
        assert metrics["tn"] + metrics["fp"] + metrics["fn"] + metrics["tp"] == len(splits.test)
        assert len(record["predictions"]) == len(record["labels"]) == len(splits.test)
        assert not budget_violations(record, recipe.budgets)
    assert records[1]["train_info"]["steps"] == recipe.train.max_steps
    stored = load_records(tmp_path, records[0]["run_info"]["commit"])
    assert {r["arm"] for r in stored} == {"untuned", "reference"}
    table = markdown_table(stored)
    assert "| smoke | untuned |" in table and "| smoke | reference |" in table
