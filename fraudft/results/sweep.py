"""Sweeps in a commit's records: arms that differ in LoRA alpha only, shown against alpha/r.

    fraudft results table [REV]        # prints a sweep section where the records hold one
    fraudft results plot [REV] --out plots/   # alpha_r.png

Arms are grouped by everything of their arm config except alpha (rank, dropout, rsLoRA, target
modules, training and test data); a group with three or more alphas is a sweep. Each point is the
metric with its 95% interval (seeds pooled per example); neighbouring ratios get a paired verdict,
which says "no difference shown" unless the interval excludes 0.
"""

from __future__ import annotations

import json

from fraudft import stats
from fraudft.results.store import group_runs, recipe_of
from fraudft.results.table import markdown

SWEEP_METRIC = "mcc"
MIN_POINTS = 3


def _lora_of(record: dict) -> dict | None:
    arm = (((record.get("run_info") or {}).get("config") or {}).get("arm") or {})
    return arm.get("lora") if isinstance(arm, dict) else None


def _group_key(record: dict) -> str | None:
    arm = (((record.get("run_info") or {}).get("config") or {}).get("arm") or {})
    lora = arm.get("lora") if isinstance(arm, dict) else None
    if not lora:
        return None
    rest = {k: v for k, v in arm.items() if k not in ("name", "description", "lora", "reference_result", "expects")}
    return json.dumps([recipe_of(record), {k: v for k, v in lora.items() if k != "alpha"}, rest], sort_keys=True, default=str)


def find_sweeps(records: list[dict]) -> list[list[tuple[float, str, list[dict]]]]:
    """Each sweep as [(alpha/r, arm, successful runs)], sorted by alpha/r."""
    groups: dict[str, dict[float, tuple[str, list[dict]]]] = {}
    for (_, arm), runs in group_runs(records).items():
        ok = [r for r in runs if (r.get("train_info") or {}).get("status") == "success" and r.get("labels")]
        if not ok or _group_key(ok[0]) is None:
            continue
        lora = _lora_of(ok[0])
        ratio = lora["alpha"] / (lora["r"] ** 0.5 if lora.get("rslora") else lora["r"])
        groups.setdefault(_group_key(ok[0]), {})[ratio] = (arm, ok)
    return [sorted((ratio, arm, runs) for ratio, (arm, runs) in group.items())
            for group in groups.values() if len(group) >= MIN_POINTS]


def sweep_points(sweep, metric: str = SWEEP_METRIC, n_resamples: int = 1000) -> list[dict]:
    """The metric with its interval at each alpha/r, and the paired verdict against the previous ratio."""
    points, previous = [], None
    for ratio, arm, runs in sweep:
        labels, predictions = runs[0]["labels"], [r["predictions"] for r in runs]
        point = {"alpha_r": ratio, "arm": arm, "seeds": len(runs),
                 **stats.pooled_interval(labels, predictions, metric, n_resamples=n_resamples)}
        if previous is not None and previous[0] == labels:
            point["vs_previous"] = stats.pooled_compare(labels, predictions, previous[1], metric, n_resamples=n_resamples)
        points.append(point)
        previous = (labels, predictions)
    return points


def sweep_report(records: list[dict], metric: str = SWEEP_METRIC, n_resamples: int = 1000) -> str:
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
        recipe = recipe_of(sweep[0][2][0])
        parts += [f"### {recipe}: alpha/r sweep, {metric} (95% interval, seeds pooled per example)", "",
                  markdown(["alpha/r", "arm", "seeds", metric, "vs the previous ratio (paired)"], rows), ""]
    return "\n".join(parts).rstrip()
