"""A recipe's speed and memory budgets, checked against a run's record.

    from fraudft.experiment.budgets import budget_violations
    assert not budget_violations(record, recipe.budgets)
"""

from __future__ import annotations


def budget_violations(record: dict, budgets: dict) -> list[str]:
    """What in the record's training run breaks the budgets (empty when it keeps them)."""
    info = record["train_info"]
    if info.get("steps", 0) == 0:
        return []  # nothing trained: no throughput to hold to a floor
    problems = []
    if "min_tokens_per_s" in budgets and info["tokens_per_s"] < budgets["min_tokens_per_s"]:
        problems.append(f"throughput {info['tokens_per_s']:.0f} tokens/s below the floor {budgets['min_tokens_per_s']}")
    memory = info["peak_memory"]
    for key, field in (("max_peak_rss_gb", "peak_rss_bytes"), ("max_peak_allocated_gb", "peak_allocated_bytes")):
        if key in budgets and field in memory and memory[field] / 2**30 > budgets[key]:
            problems.append(f"{field} {memory[field] / 2**30:.2f} GB above the ceiling {budgets[key]} GB")
    return problems
