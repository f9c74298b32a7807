"""A recipe's speed and memory budgets, checked against a run's record.

    from fraudft.experiment.budgets import budget_violations
    assert not budget_violations(record, recipe.budgets)

Speed is budgeted as a ratio that holds on any machine: `min_relative_throughput` is training
tokens/s over the tokens/s of the calibration workload measured in the same process just before
(fraudft.experiment.calibration). Absolute floors are kept for named devices only:
`[budgets.device_floors]` maps a device name (as meta_info records it) to its minimum tokens/s.
Memory ceilings are absolute: a run's peak does not depend on how busy the machine is.
"""

from __future__ import annotations

from fraudft.results.record import RunRecord


def budget_violations(record: RunRecord, budgets: dict) -> list[str]:
    """What in the record's training run breaks the budgets (empty when it keeps them)."""
    info = record.train_info
    if info.get("steps", 0) == 0:
        return []  # nothing trained: no throughput to hold to a floor
    problems = []
    ratio, floor = info.get("relative_throughput"), budgets.get("min_relative_throughput")
    if floor is not None and ratio is not None and ratio < floor:
        problems.append(f"throughput {info['tokens_per_s']:.0f} tokens/s is {ratio:.2f}x the calibration workload's "
                        f"{info['calibration_tokens_per_s']:.0f}, below the floor of {floor}x")
    device = record.device_name
    absolute = budgets.get("device_floors", {}).get(device)
    if absolute is not None and info["tokens_per_s"] < absolute:
        problems.append(f"throughput {info['tokens_per_s']:.0f} tokens/s below the floor {absolute} for {device}")
    memory = info["peak_memory"]
    for key, field in (("max_peak_rss_gb", "peak_rss_bytes"), ("max_peak_allocated_gb", "peak_allocated_bytes")):
        if key in budgets and field in memory and memory[field] / 2**30 > budgets[key]:
            problems.append(f"{field} {memory[field] / 2**30:.2f} GB above the ceiling {budgets[key]} GB")
    return problems
