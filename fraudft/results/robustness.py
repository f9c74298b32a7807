"""Robustness: how a run's answers change on its counterfactual test sets (`test:NAME` evaluations).

    from fraudft.results.robustness import robustness, robustness_rows, robustness_section
    robustness(labels, original_predictions, changed_predictions, original_scores, changed_scores)
        # {"flip_rate": flips.flip_rate(...), "mean_delta_p": {...} | None, "mcc_delta": stats.compare(...)}
    print(robustness_section(records))   # markdown, "" when no record has a `test:NAME` evaluation

The flip rate is the share of test examples whose 0/1 answer changed (fraudft.metrics.flips.flip_rate:
paired, stratified by label); mean ΔP(fraud) is the mean change of P(fraud) (changed - original);
the MCC delta is MCC(changed) - MCC(original), fraudft.metrics.stats.compare on the same example draws.
Computed from the stored evaluations at report time: a record needs no field beyond them (each
extra evaluation's metrics also hold records_changed / records_unchanged, shown when present).
"""

from __future__ import annotations

from fraudft.metrics import flips, stats
from fraudft.results.markdown import markdown
from fraudft.results.record import TEST, RunRecord


def robustness(labels, original, changed, original_scores=None, changed_scores=None,
               n_resamples: int | None = None, seed: int = 0) -> dict:
    """{"flip_rate", "mean_delta_p", "mcc_delta"} of one adapter's answers on a test set and its
    counterfactual (predictions 0/1 per example, scores P(fraud) or None; the same examples in the
    same order). Raises ValueError on mismatched lengths."""
    n_resamples = n_resamples or stats.B_DEFAULT
    both = original_scores is not None and changed_scores is not None
    flip = flips.flip_rate(labels, original, changed, n_resamples=n_resamples, seed=seed,
                           original_scores=original_scores if both else None,
                           changed_scores=changed_scores if both else None)
    mcc = stats.compare(labels, changed, original, "mcc", n_resamples=n_resamples, seed=seed)
    return {"flip_rate": flip, "mean_delta_p": flip["mean_delta_p"], "mcc_delta": mcc}


def directional_figures(name: str, labels, original_scores, changed_scores, unchanged_lines,
                        n_resamples: int | None = None, seed: int = 0) -> dict | None:
    """fraudft.metrics.flips.directional on the records the directional set `name` changed (those not in
    unchanged_lines, 1-based), or None when `name` is not a directional set; {"undefined": why} when
    scores or the changed records are not recorded."""
    from fraudft.audit.counterfactuals import DIRECTIONAL

    if name not in DIRECTIONAL:
        return None
    if original_scores is None or changed_scores is None:
        return {"undefined": "no scores recorded"}
    if unchanged_lines is None:
        return {"undefined": "which records changed is not recorded"}
    unchanged = set(unchanged_lines)
    return flips.directional(labels, original_scores, changed_scores, [i + 1 not in unchanged for i in range(len(labels))],
                             n_resamples=n_resamples or stats.B_DEFAULT, seed=seed)


def robustness_rows(records: list[RunRecord], n_resamples: int | None = None) -> list[dict]:
    """One row per (successful record, `test:NAME` evaluation): {"recipe", "arm", "seed", "set",
    "records_changed", "records_unchanged", **robustness(...)}; rows whose examples differ from the
    record's `test` evaluation carry "undefined" instead of figures."""
    rows = []
    for record in records:
        if not record.ok or record.test is None:
            continue
        original = record.test
        for evaluation in record.evaluations:
            if not evaluation.name.startswith(f"{TEST}:"):
                continue
            row = {"recipe": record.recipe, "arm": record.arm, "seed": record.seed,
                   "set": evaluation.name.split(":", 1)[1],
                   "records_changed": evaluation.metrics.get("records_changed"),
                   "records_unchanged": evaluation.metrics.get("records_unchanged"),
                   "unchanged_why": evaluation.metrics.get("unchanged_why")}
            if evaluation.labels != original.labels:
                rows.append({**row, "undefined": "other examples than the test evaluation (not a counterfactual)"})
                continue
            rows.append({**row, **robustness(original.labels, original.predictions, evaluation.predictions,
                                             original.scores, evaluation.scores, n_resamples),
                         "directional": directional_figures(row["set"], original.labels, original.scores,
                                                            evaluation.scores, evaluation.metrics.get("unchanged_lines"),
                                                            n_resamples)})
    return rows


def _interval(value, low, high, signed: bool = False) -> str:
    if value is None:
        return "—"
    f = "{:+.3f}" if signed else "{:.3f}"
    text = f.format(value)
    return text + (f" [{f.format(low)}, {f.format(high)}]" if low is not None else "")


def directional_cell(figures: dict | None) -> str:
    """`0.120 [0.080, 0.170] (24 of 200; mean ΔP +0.031 [...])` of flips.directional, `— (why)`, or ""."""
    if not figures:
        return ""
    if figures.get("undefined"):
        return f"— ({figures['undefined']})"
    dp = figures["mean_delta_p"]
    return (_interval(figures["value"], figures["low"], figures["high"])
            + f" ({figures['violations']} of {figures['changed'] * figures['seeds']}; mean ΔP(fraud) "
            + _interval(dp["value"], dp["low"], dp["high"], signed=True) + ")")


def robustness_cells(row: dict) -> list[str]:
    """[changed records, flip rate [CI], mean ΔP(fraud) [CI], MCC delta [CI], P(fraud) fell (directional
    sets) [CI]] of one row, as text."""
    changed = ("" if row.get("records_changed") is None else
               f"{row['records_changed']} of {row['records_changed'] + row['records_unchanged']}")
    if row.get("undefined"):
        return [changed, f"— ({row['undefined']})", "", "", ""]
    flip, dp, mcc = row["flip_rate"], row["mean_delta_p"], row["mcc_delta"]
    flip_cell = _interval(flip["value"], flip["low"], flip["high"]) + f" ({flip['flips']} flips)"
    dp_cell = _interval(dp["value"], dp["low"], dp["high"], signed=True) if dp else "— (no scores recorded)"
    mcc_cell = (f"— ({mcc['undefined']})" if mcc["delta"] is None
                else _interval(mcc["delta"], mcc["low"], mcc["high"], signed=True))
    return [changed, flip_cell, dp_cell, mcc_cell, directional_cell(row.get("directional"))]


COLUMNS = ["backend", "arm", "seed", "counterfactual set", "records changed", "flip rate [95% CI]",
           "mean ΔP(fraud) [95% CI]", "MCC changed − original [95% CI]",
           "directional: share of changed records whose P(fraud) fell [95% CI]"]


def robustness_table_rows(rows: list[dict]) -> list[list]:
    """robustness_rows as table rows of text, one per row, under COLUMNS."""
    return [[r["recipe"], r["arm"], r["seed"], r["set"], *robustness_cells(r)] for r in rows]


def robustness_section(records: list[RunRecord], n_resamples: int | None = None, rows: list[dict] | None = None) -> str:
    """The table's Robustness section as markdown, "" when no record has a counterfactual evaluation
    (`rows`: robustness_rows of the records, when already computed)."""

    rows = robustness_rows(records, n_resamples) if rows is None else rows
    if not rows:
        return ""
    table = markdown(COLUMNS, robustness_table_rows(rows))
    return ("### Robustness: the same adapter on counterfactual test sets (flip rate: share of answers that "
            "changed; paired, test examples resampled within each label)\n\n" + table)
