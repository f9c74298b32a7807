"""CI's smoke of the benchmark: two arms on a few steps, each in its own process, so the suite
cannot rot.

    pytest bench -k smoke
"""

from bench.grid import run_arm_process
from fraudft.experiment.arms import ARMS_BY_NAME
from fraudft.experiment.budgets import budget_violations
from fraudft.experiment.recipes import load_recipe
from fraudft.results.store import load_records
from fraudft.results.table import markdown_table


def test_smoke_two_arms_write_records_and_a_table(tmp_path):
    recipe = load_recipe("smoke")
    records = [run_arm_process(recipe, ARMS_BY_NAME[name], 0, tmp_path) for name in ("untuned", "reference")]
    for record in records:
        assert record["train_info"]["status"] == "success", record["train_info"]
        metrics = record["metrics"]
        assert metrics["tn"] + metrics["fp"] + metrics["fn"] + metrics["tp"] == recipe.synthetic[2]
        assert len(record["predictions"]) == len(record["labels"]) == recipe.synthetic[2]
        assert not budget_violations(record, recipe.budgets)
    assert records[1]["train_info"]["steps"] == recipe.train.max_steps
    assert records[1]["train_info"]["peak_memory"]["device"] == "cpu"
    stored = load_records(tmp_path, records[0]["run_info"]["commit"])
    assert {r["arm"] for r in stored} == {"untuned", "reference"}
    table = markdown_table(stored)
    assert f"| {recipe.key} | untuned |" in table and f"| {recipe.key} | reference |" in table
