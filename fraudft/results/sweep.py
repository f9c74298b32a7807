"""Sweeps in a commit's records: arms that differ in LoRA alpha only, shown against alpha/r.

    fraudft results table [REV]        # prints a sweep section where the records hold one
    fraudft results plot [REV] --out plots/   # alpha_r.png

Arms are grouped by everything of their arm config except alpha (rank, dropout, rsLoRA, target
modules, training and test data); a group with three or more alphas at the recipe's learning rate is
the alpha/r sweep, and one with three or more alphas whose learning-rate scale keeps alpha/r x lr
constant (arms.toml's iso_* arms and the reference) is the iso-effective-lr sweep: the default AdamW
update grows with scale x lr, so only there does a trend say alpha/r matters beyond their product. A sweep makes one
claim (issue 18): the slope of the metric on log2(alpha/r), per doubling, by least squares over all
its ratios, bootstrapped on resamples shared by every ratio (fraudft.metrics.several.slope: test examples
resampled within each label, the same draws for every ratio, seeds resampled per ratio), with its
95% interval and verdict "increasing" / "decreasing" / "no trend shown"; where a commit holds
several sweeps, their slopes are Holm-adjusted across them. On the same resamples, each ratio's
P(best) (fraudft.metrics.several.p_best). Neighbour comparisons miss real trends (each step sees one step's
worth of the effect: at 0.02 MCC per doubling, the slope finds it about 75% of the time, a "higher"
between neighbours about 34%, tests/metrics/test_stats.py) and are kept as secondary information: each
point's metric with its 95% interval, and a paired verdict against the previous ratio, Holm-adjusted
across the steps of the sweep (its family).
"""

from __future__ import annotations

import json
import math

from fraudft.metrics import several, stats
from fraudft.results.record import RunRecord
from fraudft.results.store import group_runs
from fraudft.results.markdown import markdown
from fraudft.results.table import metric_inputs
from fraudft.results.views import view_metric

MIN_POINTS = 3
_TREND_AS_DIRECTION = {"increasing": "higher", "decreasing": "lower"}  # for stats.holm, and back


def _lr_scale(record: RunRecord) -> float:
    return float(record.arm_config.get("learning_rate_scale", 1.0) or 1.0)


def _ratio(record: RunRecord) -> float:
    lora = record.lora
    return lora["lora_alpha"] / (lora["r"] ** 0.5 if lora.get("use_rslora") else lora["r"])


def _group_key(record: RunRecord) -> str | None:
    """Everything of the arm config but alpha and the learning-rate scale (and names, expectations)."""
    arm, lora = record.arm_config, record.lora
    if not lora:
        return None
    # Not what is trained: names, expectations, which recipes run it, its extra evaluations.
    skip = ("name", "description", "lora", "reference_result", "expects", "learning_rate_scale", "recipes",
            "extra_tests")
    rest = {k: v for k, v in arm.items() if k not in skip and not (k == "train" and not v)}  # older records: no train
    return json.dumps([record.recipe, {k: v for k, v in lora.items() if k != "lora_alpha"}, rest], sort_keys=True, default=str)


def find_sweeps(records: list[RunRecord]) -> list[list[tuple[float, str, list[RunRecord]]]]:
    """Each sweep as [(alpha/r, arm, successful runs)], sorted by alpha/r: the plain sweep (the
    recipe's learning rate, alpha only changing) and the iso-effective-lr sweep (alpha/r x the
    learning-rate scale constant: arms.toml's iso_* arms with the reference)."""
    plain: dict[str, dict[float, tuple[str, list[RunRecord]]]] = {}
    iso: dict[tuple[str, float], dict[float, tuple[str, list[RunRecord]]]] = {}
    for (_, arm), runs in group_runs(records).items():
        ok = [r for r in runs if r.ok]
        if not ok or _group_key(ok[0]) is None:
            continue
        key, ratio, scale = _group_key(ok[0]), _ratio(ok[0]), _lr_scale(ok[0])
        if scale == 1:
            plain.setdefault(key, {})[ratio] = (arm, ok)
        iso.setdefault((key, round(ratio * scale, 9)), {})[ratio] = (arm, ok)
    groups = list(plain.values()) + [g for g in iso.values() if any(_lr_scale(runs[0]) != 1 for _, runs in g.values())]
    return [sorted((ratio, arm, runs) for ratio, (arm, runs) in group.items())
            for group in groups if len(group) >= MIN_POINTS]


def sweep_kind(sweep) -> str:
    """"alpha/r sweep", or "iso-effective-lr alpha/r sweep (alpha/r x lr scale = 2)" for one whose
    learning rate moves against alpha/r."""
    scales = {_lr_scale(runs[0]) for _, _, runs in sweep}
    if scales == {1.0}:
        return "alpha/r sweep"
    ratio, _, runs = sweep[0]
    return f"iso-effective-lr alpha/r sweep (alpha/r x lr scale = {ratio * _lr_scale(runs[0]):g})"


def sweep_points(sweep, metric: str | None = None, n_resamples: int | None = None) -> list[dict]:
    """The metric with its interval at each alpha/r, and the paired verdict against the previous
    ratio, Holm-adjusted across the sweep's steps."""
    metric = metric or view_metric("sweep")  # fraudft.results.views
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


def sweep_trend(sweep, metric: str | None = None, n_resamples: int | None = None) -> dict:
    """The sweep's claim: stats.slope of the metric on log2(alpha/r) over all its ratios (the slope per
    doubling), plus "p_best": {alpha/r: P(best)} on the same resamples. Undefined (slope None, p_best
    {}) when a ratio's metric can't be computed or the ratios were tested on other examples."""
    metric = metric or view_metric("sweep")  # fraudft.results.views
    n_resamples = n_resamples or stats.B_DEFAULT
    inputs = [(ratio, *metric_inputs(runs, metric)) for ratio, _, runs in sweep]
    why = next((f"alpha/r {ratio:g}: {w}" for ratio, _, _, w in inputs if w), None)
    if why is None and any(labels != inputs[0][1] for _, labels, _, _ in inputs):
        why = "ratios tested on other examples"
    if why is not None:
        return {"metric": metric, "slope": None, "low": None, "high": None, "p_value": None, "significant": False,
                "verdict": "no trend shown", "borderline": False, "undefined": why, "arms": len(sweep),
                "n_resamples": n_resamples, "p_best": {}}
    labels = inputs[0][1]
    arms = {math.log2(ratio): values for ratio, _, values, _ in inputs}
    out = several.slope(labels, arms, metric, n_resamples=n_resamples)
    best = several.p_best(labels, arms, metric, n_resamples=n_resamples)
    out["p_best"] = {ratio: share for (ratio, *_), share in zip(inputs, best.values())}
    return out


def holm_trends(trends: list[dict]) -> list[dict]:
    """stats.holm over sweep_trend results (each sweep one claim), verdicts kept in trend words."""
    as_compare = [dict(t, delta=t["slope"], verdict=_TREND_AS_DIRECTION.get(t["verdict"], "no difference shown"))
                  for t in trends]
    back = {direction: trend for trend, direction in _TREND_AS_DIRECTION.items()}
    return [{**{k: v for k, v in a.items() if k != "delta"}, "verdict": back.get(a["verdict"], "no trend shown")}
            for a in stats.holm(as_compare)]


def sweep_summaries(records: list[RunRecord], metric: str | None = None, n_resamples: int | None = None) -> list[dict]:
    """[{"recipe", "sweep", "points", "trend"}] per sweep: sweep_points with each point's "p_best"
    (None where the trend is undefined), and sweep_trend Holm-adjusted across the commit's sweeps."""
    metric = metric or view_metric("sweep")  # fraudft.results.views
    out = []
    for sweep in find_sweeps(records):
        points, trend = sweep_points(sweep, metric, n_resamples), sweep_trend(sweep, metric, n_resamples)
        for point in points:
            point["p_best"] = trend["p_best"].get(point["alpha_r"])
        out.append({"recipe": sweep[0][2][0].recipe, "sweep": sweep, "points": points, "trend": trend})
    for summary, adjusted in zip(out, holm_trends([s["trend"] for s in out])):
        summary["trend"] = adjusted
    return out


def trend_line(trend: dict, family: int = 1) -> str:
    """"slope of mcc per doubling of alpha/r: +0.031 [+0.012, +0.050], increasing (p = ...)"."""
    head = f"slope of {trend['metric']} per doubling of alpha/r: "
    if trend["slope"] is None:
        return head + f"— ({trend['undefined']})"
    if trend["low"] is None:
        return head + f"{trend['slope']:+.3f}, no trend shown (too few defined resamples)"
    p = f"p = {trend['p_value']:.2g}" + (f", Holm-adjusted across {family} sweeps: {trend['p_adjusted']:.2g}"
                                        if family > 1 and "p_adjusted" in trend else "")
    return (head + f"{trend['slope']:+.3f} [{trend['low']:+.3f}, {trend['high']:+.3f}], {trend['verdict']}"
            + (", borderline" if trend["borderline"] else "") + f" ({p}; {trend['arms']} ratios, paired bootstrap)")


def sweep_columns(metric: str | None = None) -> list[str]:
    metric = metric or view_metric("sweep")
    return ["alpha/r", "arm", "seeds", metric, "P(best)", "vs the previous ratio (paired, Holm-adjusted; secondary)"]


def sweep_rows(summary: dict) -> list[list]:
    """One sweep_summaries entry's ratios as table rows of text, under sweep_columns."""
    rows = []
    for p in summary["points"]:
        interval = (f"{p['value']:.3f} [{p['low']:.3f}, {p['high']:.3f}]" if p["value"] is not None
                    else f"— ({p['undefined']})")
        versus = p.get("vs_previous")
        verdict = "" if versus is None else (
            f"{versus['verdict']} ({versus['delta']:+.3f} [{versus['low']:+.3f}, {versus['high']:+.3f}])"
            if versus["delta"] is not None and versus["low"] is not None
            else f"no difference shown ({versus['undefined'] or 'too few defined resamples'})")
        best = "—" if p["p_best"] is None else f"{p['p_best']:.2f}"
        rows.append([f"{p['alpha_r']:g}", p["arm"], p["seeds"], interval, best, verdict])
    return rows


def sweep_report(records: list[RunRecord], metric: str | None = None, n_resamples: int | None = None) -> str:
    """Markdown per sweep: the headline slope line, then a table of the ratios; "" when the records hold none."""
    metric = metric or view_metric("sweep")  # fraudft.results.views
    parts, summaries = [], sweep_summaries(records, metric, n_resamples)
    for summary in summaries:
        parts += [f"### {summary['recipe']}: {sweep_kind(summary['sweep'])}, {metric} (95% interval)", "",
                  trend_line(summary["trend"], len(summaries)), "",
                  markdown(sweep_columns(metric), sweep_rows(summary)), ""]
    return "\n".join(parts).rstrip()
