"""CI's smoke of the benchmark: two arms on a few steps, so the suite cannot rot.

    pytest bench -k smoke
"""

from fraudft.ablation import BACKENDS, load_splits, run_arm
from fraudft.arms import ARMS_BY_NAME
from fraudft.report import markdown_table
from fraudft.results import load_records


def test_smoke_two_arms_write_records_and_a_table(tmp_path, budgets):
    from bench.test_ablations import check_budget

    backend = BACKENDS["smoke"]
    splits = load_splits(backend)
    records = [run_arm(ARMS_BY_NAME[name], backend, splits, seed=0, results_root=tmp_path)
               for name in ("untuned", "reference")]
    for record in records:
        assert record["train_info"]["status"] == "success", record["train_info"]
        metrics = record["metrics"]
        assert metrics["tn"] + metrics["fp"] + metrics["fn"] + metrics["tp"] == len(splits.test)
        assert len(record["predictions"]) == len(record["labels"]) == len(splits.test)
        check_budget(record, budgets[backend.name])
    assert records[1]["train_info"]["steps"] == backend.train.max_steps
    stored = load_records(tmp_path, records[0]["run_info"]["commit"])
    assert {r["arm"] for r in stored} == {"untuned", "reference"}
    table = markdown_table(stored)
    assert "| smoke | untuned |" in table and "| smoke | reference |" in table
