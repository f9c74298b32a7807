"""One step of one arm between two commits, tested and judged: the one judgement that `fraudft results
compare` (a pair of commits, every arm) and `fraudft results history` (every step of every arm shown)
both make, so that they say the same of the same pair of commits.

    from fraudft.results.steps import judge_steps, step_test
    results = [step_test(base_summary, head_summary, "mcc", margin=0.05) for ...]   # one per arm
    judged = judge_steps(results)    # Holm over that family: change "up" | "down" | "", worse (margin)

Summaries are fraudft.results.table.summarize_arm's. A step is paired per example when both sides were
scored on the same test examples (paired_labels), else unpaired; identical values are no test.
"""

from __future__ import annotations

from fraudft.metrics import stats
from fraudft.results.table import metric_inputs


def paired_labels(a: dict, b: dict) -> tuple[list[int] | None, str | None]:
    """The test labels both commits scored on, or why their runs cannot be paired per example
    (a, b: summaries of fraudft.results.table.summarize_arm)."""
    if a["fingerprints"] and b["fingerprints"] and None not in a["fingerprints"] | b["fingerprints"] \
            and a["fingerprints"] != b["fingerprints"]:
        return None, "test data differs"
    if a["labels"] is None or b["labels"] is None:
        return None, None
    if a["labels"] != b["labels"]:
        return None, "test labels differ"
    return a["labels"], None


def metric_delta(a: dict, b: dict, labels: list[int] | None, metric: str, n_resamples: int | None = None,
                 margin: float | None = None) -> dict:
    """metric(b) - metric(a) of two summaries (base a, head b: summarize_arm) by fraudft.metrics.stats: paired
    per example on `labels` (paired_labels), or, with labels None (other test examples), unpaired
    (stats.compare_unpaired; no margin test). Where a side's metric can't be computed (no scores
    recorded, ...): {"undefined": why, "delta": None, "verdict": "no difference shown"}."""
    labels_a, values_a, why_a = metric_inputs(a["records"], metric)
    labels_b, values_b, why_b = metric_inputs(b["records"], metric)
    if values_a is None or values_b is None:
        return {"undefined": why_a or why_b, "delta": None, "verdict": "no difference shown"}
    n_resamples = n_resamples or stats.B_DEFAULT
    if labels is None:
        return stats.compare_unpaired(labels_b, values_b, labels_a, values_a, metric, n_resamples=n_resamples)
    return stats.compare(labels, values_b, values_a, metric, n_resamples=n_resamples, margin=margin)


def step_test(a: dict, b: dict, metric: str, n_resamples: int | None = None, margin: float | None = None) -> dict:
    """The test of one step of one arm, base a -> head b (summaries of summarize_arm), on `metric`: the
    same for `results compare` (a step between two commits) and `results history` (a step between an arm's
    shown commits). metric_delta paired per example on paired_labels' labels (else unpaired), with
    "paired" added; where both sides are the same runs' values on the same labels (identical predictions
    or scores, the metric defined), {"identical": True, "delta": 0.0, "p_value": None, ...}: every
    resampled difference is 0, p = 1 whatever the draws, so it is no test and stays out of the Holm
    family (Tarone)."""
    labels, _ = paired_labels(a, b)
    values_a, values_b = (metric_inputs(s["records"], metric)[1] for s in (a, b))
    if labels is not None and values_a is not None and values_a == values_b \
            and all(stats.undefined_reason(metric, labels, v) is None for v in values_a):
        return {"metric": metric, "delta": 0.0, "low": None, "high": None, "p_value": None, "significant": False,
                "verdict": "no difference shown", "borderline": False, "undefined": None, "identical": True,
                "paired": True, **({"margin": float(margin), "p_worse": None} if margin is not None else {})}
    return {**metric_delta(a, b, labels, metric, n_resamples, margin=margin if labels is not None else None),
            "paired": labels is not None}


CHANGES = {"higher": "up", "lower": "down"}  # a confirmed step, as `results history` marks it (▲ / ▼)


def judge_steps(results: list[dict]) -> list[dict]:
    """The one judgement of a family of steps (step_test results, head - base), shared by `results compare`
    and `results history` so that both say the same of the same pair of commits. Returns copies in the
    same order with stats.holm's "p_adjusted", "significant", "verdict", "borderline" (the two-sided test,
    Holm-adjusted over the family) and "change": "up" | "down" | "" (confirmed after Holm; "" where
    untested); results that carry a margin test (p_worse) also get "p_worse_adjusted", "worse" (head
    confirmed worse than base by more than the margin, Holm-adjusted over the same family) and
    "worse_borderline". Results without a p_value (undefined, identical) pass through with change "".

    The family is the caller's: compare's is every arm on both sides whose step is a test and whose
    configuration and model are unchanged; history's is every tested step of every arm shown. On a
    history of just the two commits of a compare, the two families are the same."""
    out = [{**r, "change": ""} for r in results]
    tested = [i for i, r in enumerate(out) if r.get("p_value") is not None]
    for i, adjusted in zip(tested, stats.holm([out[i] for i in tested])):
        out[i] = {**adjusted, "change": CHANGES.get(adjusted["verdict"], "") if adjusted["significant"] else ""}
    margined = [i for i in tested if out[i].get("p_worse") is not None]
    tests = [{"p_value": out[i]["p_worse"], "delta": out[i]["delta"], "verdict": "lower",
              "n_resamples": out[i]["n_resamples"]} for i in margined]
    for i, adjusted in zip(margined, stats.holm(tests)):
        out[i].update(p_worse_adjusted=adjusted["p_adjusted"], worse=bool(adjusted["significant"]),
                      worse_borderline=bool(adjusted["borderline"]))
    return out
