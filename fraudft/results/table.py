"""Markdown tables of a commit's records: one row per run, and per arm every registered metric with its interval.

    fraudft results table [REV] [--recipe RECIPE]
    from fraudft.results.table import markdown_table, summarize_arm, table_report

The metrics are those of the registry (fraudft.metrics.registry), every one of them, in its order: the 0/1
figures at the threshold 0.5 and the decision metrics from the P(fraud) scores (ROC-AUC, average
precision, recall at a fixed false-positive rate, ...). Intervals come from fraudft.metrics.stats (test
examples resampled within each label, an arm's seeds resampled too). A metric that is undefined
(zero denominator, no scores recorded) shows as `— (why)`, never as 0. The operating point is the
threshold the recipe's rule chose on the eval split, with the test figures at it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudft.metrics import stats
from fraudft.metrics.registry import METRICS, get_metric, metric_names
from fraudft.results.markdown import markdown
from fraudft.results.record import RunRecord, extra_name
from fraudft.results.store import group_runs, sort_records
from fraudft.results.views import short_name, view_metrics

ERROR_WIDTH = 80
NO_SCORES = "no scores recorded"


# --- one record -------------------------------------------------------------------------------

def peak_bytes(info: dict) -> tuple[str | None, float | None]:
    """(kind, bytes) of a run's peak memory (a train_info dict): CUDA allocated bytes, else the
    process's peak RSS."""
    memory = info.get("peak_memory") or {}
    if memory.get("peak_allocated_bytes"):
        return "allocated", memory["peak_allocated_bytes"]
    if memory.get("peak_rss_bytes"):
        return "rss", memory["peak_rss_bytes"]
    return None, None


def short_error(record: RunRecord, width: int = ERROR_WIDTH) -> str:
    """The first line of a failed run's error, at most `width` characters."""
    error = record.error
    line = " ".join(error.strip().splitlines()[0].split()) if error.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def metric_inputs(runs: list[RunRecord], metric: str, evaluation: str = "test") -> tuple[list[int] | None, list | None, str | None]:
    """(labels, values (one list per run), None), or (labels, None, why) when the metric can't be
    computed from these runs' evaluation (no scores recorded, evaluation missing, other test examples)."""
    needs = get_metric(metric).needs
    found = [r.evaluation(evaluation) for r in runs]
    if not found or any(e is None for e in found):
        return None, None, f"no {evaluation!r} evaluation"
    labels = found[0].labels
    if any(e.labels != labels for e in found):
        return None, None, "seeds tested on other examples"
    values = [e.values_for(needs) for e in found]
    if any(v is None for v in values):
        return labels, None, NO_SCORES
    return labels, values, None


def record_metric(record: RunRecord, metric: str, evaluation: str = "test") -> dict:
    """{"value", "undefined"} of one run's metric (point value, no interval)."""
    labels, values, why = metric_inputs([record], metric, evaluation)
    if why:
        return {"value": None, "undefined": why}
    return {"value": stats.metric_value(metric, labels, values[0]),
            "undefined": stats.undefined_reason(metric, labels, values[0])}


def format_metric(value: float | None, low: float | None = None, high: float | None = None,
                  undefined: str | None = None, sd: float | None = None) -> str:
    """`0.812 ± 0.010 [0.770, 0.850]`, `— (no positive prediction)` when undefined, "" when unknown."""
    if undefined:
        return f"— ({undefined})"
    if value is None:
        return ""
    text = f"{value:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")
    return text + (f" [{low:.3f}, {high:.3f}]" if low is not None else "")


def operating_cell(record: RunRecord) -> str:
    """`t=0.43 P 0.81 R 0.77 F1 0.79` of the test split at the eval-chosen threshold, `— (why)`, or ""."""
    test = record.test
    point = test.operating_point if test is not None else None
    if not point:
        return ""
    if point["threshold"] is None:
        return f"— ({point['undefined']})"
    figures = point["test"]
    parts = [f"{short_name(key)} {figures[key]:.2f}" if figures.get(key) is not None else f"{short_name(key)} —"
             for key in view_metrics("operating")]
    return f"t={point['threshold']:.3g} " + " ".join(parts)


def records_frame(records: list[RunRecord]) -> pd.DataFrame:
    """One row per record: status, confusion counts, the table view's metrics (every registered one,
    point values), the operating point, speed and memory."""
    rows, shown = [], view_metrics("table")
    for r in records:
        info, test = r.train_info, r.test
        memory = peak_bytes(info)[1]
        metrics = test.metrics if test is not None else {}
        row = {
            "backend": r.recipe, "arm": r.arm, "seed": r.seed, "status": r.status + ("*" if r.dirty else ""),
            "scale": info.get("lora_scale") if r.lora else None, "steps": info.get("steps"),
            "tn/fp/fn/tp": "/".join(str(metrics.get(k)) for k in ("tn", "fp", "fn", "tp")) if metrics else "",
        }
        for name in shown:
            row[name] = format_metric(**record_metric(r, name)) if r.ok else ""
        mfu = (info.get("mfu") or {}).get("mfu")
        row.update({
            "operating point (eval-chosen)": operating_cell(r) if r.ok else "",
            "tokens/s": round(info["tokens_per_s"]) if info.get("tokens_per_s") else None,
            "pad %": round(100 * info["padding_fraction"], 1) if info.get("computed_tokens") else None,
            "MFU %": round(100 * mfu, 1) if mfu else None,  # GPUs it knows
            "train s": round(info["train_seconds"], 1) if info.get("train_seconds") else None,
            "eval s": round(metrics["eval_seconds"], 1) if metrics.get("eval_seconds") else None,
            "peak mem GB": round(memory / 2**30, 2) if memory else None,
            "error": short_error(r),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(records: list[RunRecord]) -> str:
    """The records as a markdown table (point values; intervals are in the per-arm summary).

    The `error` column is shown only when some run failed."""
    frame = records_frame(records).astype(object).where(lambda f: f.notna(), "")
    if not (frame["error"] != "").any():
        frame = frame.drop(columns="error")
    return markdown(list(frame.columns), frame.values.tolist())


# --- one arm over seeds -------------------------------------------------------------------------

def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _arm_metric(ok: list[RunRecord], metric: str, n_resamples: int, evaluation: str = "test") -> dict:
    """mean, sd and per-seed values of a metric on an evaluation, and its 95% interval (stats.interval,
    seeds resampled)."""
    per_seed = [record_metric(r, metric, evaluation) for r in ok]
    values = [m["value"] for m in per_seed if m["value"] is not None]
    out = {"mean": _mean(values), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
           "values": values, "low": None, "high": None, "undefined": None}
    labels, inputs, why = metric_inputs(ok, metric, evaluation)
    if why:
        out["undefined"] = why
        return out
    result = stats.interval(labels, inputs, metric, n_resamples=n_resamples)
    out.update(low=result["low"], high=result["high"], undefined=result["undefined"])
    return out


def summarize_arm(runs: list[RunRecord], n_resamples: int | None = None, metrics: tuple[str, ...] | None = None) -> dict:
    """Seeds of one (recipe, arm): counts, failures, speed, memory, and per registered metric (or
    only those of `metrics`) its mean, sd and 95% interval (test examples and seeds resampled,
    fraudft.metrics.stats)."""
    n_resamples = n_resamples or stats.B_DEFAULT
    ok = [r for r in runs if r.ok]
    mems = [peak_bytes(r.train_info) for r in ok]
    kinds = {kind for kind, value in mems if value}
    memory_kind = kinds.pop() if len(kinds) == 1 else None
    labels = metric_inputs(ok, metric_names("predictions")[0])[0] if ok else None  # any prediction metric
    return {
        "backend": runs[0].recipe, "arm": runs[0].arm, "runs": len(runs), "ok": len(ok),
        "seeds": [r.seed for r in runs], "failed": [r for r in runs if r.status == "failed"],
        "dirty": any(r.dirty for r in runs), "models": sorted({r.model_name for r in runs}),
        "fingerprints": {r.test_fingerprint for r in ok}, "labels": labels, "records": ok,
        "memory_kind": memory_kind,
        "peak_bytes": _mean([value for _, value in mems]) if memory_kind else None,
        "tokens_per_s": _mean([r.tokens_per_s for r in ok]),
        "metrics": {m: _arm_metric(ok, m, n_resamples) for m in (METRICS if metrics is None else metrics)} if ok else {},
    }


def arm_cell(summary: dict, metric: str) -> str:
    m = summary["metrics"].get(metric)
    return format_metric(m["mean"], m["low"], m["high"], m["undefined"], m["sd"]) if m else ""


def summary_table(summaries: list[dict]) -> str:
    """Per arm: every metric of the table view (fraudft.results.views: every registered one), mean ± sd
    over successful seeds with its 95% interval, as markdown."""
    rows, shown = [], view_metrics("table")
    for s in summaries:
        state = "success" if s["ok"] == s["runs"] else ("failed" if s["ok"] == 0 else "partly failed")
        rows.append([s["backend"], s["arm"], f"{s['ok']}/{s['runs']}", state + ("*" if s["dirty"] else ""),
                     *(arm_cell(s, m) for m in shown)])
    names = [m + ("" if get_metric(m).higher_is_better else " (lower is better)") for m in shown]
    return markdown(["backend", "arm", "seeds ok", "status", *names], rows)


EXTRA_TITLE = ("Out of distribution: in-domain test split beside each --extra-test set (the same adapter; "
               "95% intervals, examples resampled within each label, seeds resampled)")


def extra_rows(records: list[RunRecord], n_resamples: int | None = None) -> tuple[list[str], list[list]]:
    """(columns, rows): per (recipe, arm) and `extra:NAME` evaluation (--extra-test), the extra view's
    metrics (fraudft.results.views: MCC and F1) in-domain (`test`) beside the extra set, each with its 95% interval, the set's size and its
    examples/s; no rows when no record has an extra set. A metric the set cannot define (one class)
    reads `— (why)`."""
    n_resamples = n_resamples or stats.B_DEFAULT
    rows, shown = [], view_metrics("extra")  # fraudft.results.views
    for (recipe, arm), runs in group_runs(records).items():
        ok = [r for r in runs if r.ok]
        names = list(dict.fromkeys(e.name for r in ok for e in r.evaluations if extra_name(e.name)))
        if not names:
            continue
        home = {m: _arm_metric(ok, m, n_resamples) for m in shown}
        for name in names:
            found = [r.evaluation(name) for r in ok if r.evaluation(name) is not None]
            away = {m: _arm_metric(ok, m, n_resamples, name) for m in shown}
            speed = _mean([e.metrics.get("examples_per_s") for e in found])
            size = f"{len(found[0].labels)} ({sum(found[0].labels)} fraud)"
            rows.append([recipe, arm, extra_name(name), size,
                         *(format_metric(c["mean"], c["low"], c["high"], c["undefined"])
                           for m in shown for c in (home[m], away[m])),
                         "" if speed is None else f"{speed:.1f}"])
    columns = ["backend", "arm", "extra set", "records", *(f"{m} {where}" for m in shown
                                                          for where in ("in-domain", "extra set")), "examples/s"]
    return columns, rows


def extra_section(records: list[RunRecord], n_resamples: int | None = None) -> str:
    """Markdown of extra_rows under its title; "" when no record has an extra set."""
    columns, rows = extra_rows(records, n_resamples)
    return f"### {EXTRA_TITLE}\n\n" + markdown(columns, rows) if rows else ""


def _header(records: list[RunRecord], commit: str) -> str:
    recipes = sorted({r.recipe for r in records})
    dirty = any(r.dirty for r in records)
    dates = sorted(d for d in (r.run_info.get("date") for r in records) if d)
    when = "" if not dates else f", {dates[0]}" if dates[0] == dates[-1] else f", {dates[0]} to {dates[-1]}"
    return (f"## fraudft results {commit}: {len(records)} records, backend{'s' if len(recipes) > 1 else ''} "
            f"{', '.join(recipes)}{when}" + ("  (* = run from a work tree with uncommitted changes)" if dirty else ""))


def summarize_arms(records: list[RunRecord], n_resamples: int | None = None) -> list[dict]:
    """summarize_arm of every (recipe, arm) of the records, in group_runs order."""
    return [summarize_arm(runs, n_resamples) for runs in group_runs(records).values()]


def table_report(records: list[RunRecord], commit: str, n_resamples: int | None = None,
                 summaries: list[dict] | None = None, robustness: list[dict] | None = None,
                 with_findings: bool = True) -> str:
    """A commit's runs as markdown: first (with_findings) the findings in words with their fixes
    (fraudft.results.findings: the audit's shortcuts, counterfactual flips, a baseline beating a
    trained arm), then one row per record, per arm every metric with its 95% interval, then (records
    with `test:NAME` evaluations) the Robustness section (fraudft.results.robustness) and (records
    with `extra:NAME` evaluations) the out-of-distribution section.
    `summaries` (summarize_arms) and `robustness` (robustness_rows) when already computed."""
    records = sort_records(records)
    from fraudft.results.findings import findings, findings_text
    from fraudft.results.robustness import robustness_rows, robustness_section

    summaries = summarize_arms(records, n_resamples) if summaries is None else summaries
    robustness = robustness_rows(records, n_resamples) if robustness is None else robustness
    robust = robustness_section(records, n_resamples, rows=robustness)
    extra = extra_section(records, n_resamples)
    found = findings_text(findings(records, summaries, robustness)) if with_findings else ""
    return "\n".join([
        _header(records, commit), "", *([found, ""] if found else []), markdown_table(records), "",
        "### Per arm: mean ± sd over successful seeds, 95% interval (test examples resampled within each label, "
        "seeds resampled)", "", summary_table(summaries), *(["", robust] if robust else []),
        *(["", extra] if extra else [])])
