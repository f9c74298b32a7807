"""Sweeps in a commit's records: arms that differ in LoRA alpha only, shown against alpha/r.

    fraudft results table [REV]        # prints a sweep section where the records hold one
    fraudft results plot [REV] --out plots/   # alpha_r.png

Arms are grouped by everything of their arm config except alpha (rank, dropout, rsLoRA, target
modules, training and test data); a group with three or more alphas is a sweep. Each point is the
metric with its 95% interval (fraudft.stats: test examples resampled within each label, seeds
resampled); neighbouring ratios get a paired verdict, Holm-adjusted across the steps of the sweep
(its family), which says "no difference shown" unless the adjusted test rejects.
"""

from __future__ import annotations

import json

from fraudft import stats
from fraudft.results.record import RunRecord
from fraudft.results.store import group_runs
from fraudft.results.table import markdown, metric_inputs

SWEEP_METRIC = "mcc"
MIN_POINTS = 3


def _group_key(record: RunRecord) -> str | None:
    arm, lora = record.arm_config, record.lora
    if not lora:
        return None
    rest = {k: v for k, v in arm.items() if k not in ("name", "description", "lora", "reference_result", "expects")}
    return json.dumps([record.recipe, {k: v for k, v in lora.items() if k != "alpha"}, rest], sort_keys=True, default=str)


def find_sweeps(records: list[RunRecord]) -> list[list[tuple[float, str, list[RunRecord]]]]:
    """Each sweep as [(alpha/r, arm, successful runs)], sorted by alpha/r."""
    groups: dict[str, dict[float, tuple[str, list[RunRecord]]]] = {}
    for (_, arm), runs in group_runs(records).items():
        ok = [r for r in runs if r.ok]
        if not ok or _group_key(ok[0]) is None:
            continue
        lora = ok[0].lora
        ratio = lora["alpha"] / (lora["r"] ** 0.5 if lora.get("rslora") else lora["r"])
        groups.setdefault(_group_key(ok[0]), {})[ratio] = (arm, ok)
    return [sorted((ratio, arm, runs) for ratio, (arm, runs) in group.items())
            for group in groups.values() if len(group) >= MIN_POINTS]


def sweep_points(sweep, metric: str = SWEEP_METRIC, n_resamples: int | None = None) -> list[dict]:
    """The metric with its interval at each alpha/r, and the paired verdict against the previous
    ratio, Holm-adjusted across the sweep's steps."""
    n_resamples = n_resamples or stats.B_DEFAULT
    points, previous = [], None
    for ratio, arm, runs in sweep:
        labels, values, why = metric_inputs(runs, metric)
        point = {"alpha_r": ratio, "arm": arm, "seeds": len(runs)}
        if why:
            point.update(value=None, low=None, high=None, undefined=why)
            points.append(point)
            previous = None
            continue
        point.update(stats.interval(labels, values, metric, n_resamples=n_resamples))
        if previous is not None and previous[0] == labels:
            point["vs_previous"] = stats.compare(labels, values, previous[1], metric, n_resamples=n_resamples)
        points.append(point)
        previous = (labels, values)
    steps = [p for p in points if p.get("vs_previous", {}).get("delta") is not None]
    for point, adjusted in zip(steps, stats.holm([p["vs_previous"] for p in steps])):
        point["vs_previous"] = adjusted
    return points


def sweep_report(records: list[RunRecord], metric: str = SWEEP_METRIC, n_resamples: int | None = None) -> str:
    """Markdown: one table per sweep, or "" when the records hold none."""
    parts = []
    for sweep in find_sweeps(records):
        rows = []
        for p in sweep_points(sweep, metric, n_resamples):
            interval = (f"{p['value']:.3f} [{p['low']:.3f}, {p['high']:.3f}]" if p["value"] is not None
                        else f"— ({p['undefined']})")
            versus = p.get("vs_previous")
            verdict = "" if versus is None else (
                f"{versus['verdict']} ({versus['delta']:+.3f} [{versus['low']:+.3f}, {versus['high']:+.3f}])"
                if versus["delta"] is not None else f"no difference shown ({versus['undefined']})")
            rows.append([f"{p['alpha_r']:g}", p["arm"], p["seeds"], interval, verdict])
        recipe = sweep[0][2][0].recipe
        parts += [f"### {recipe}: alpha/r sweep, {metric} (95% interval)", "",
                  markdown(["alpha/r", "arm", "seeds", metric, "vs the previous ratio (paired, Holm-adjusted)"], rows), ""]
    return "\n".join(parts).rstrip()
