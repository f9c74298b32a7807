"""Markdown tables of a commit's records: one row per run, and a per-arm summary over seeds.

    fraudft results table [REV] [--backend RECIPE]
    from fraudft.results.table import markdown_table, summarize_arm, table_report

Where a record stores its test `labels`, its metrics and 95% intervals come from fraudft.stats
(seeds pooled per example for an arm); older records without labels show their stored figures.
A metric that is undefined (zero denominator) shows as `— (why)`, never as 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudft import stats
from fraudft.results.store import group_runs, model_of, recipe_of, sort_records

SHOWN = ("precision", "recall", "f1", "mcc")
COLUMNS = ["backend", "arm", "seed", "status", "scale", "steps", "tn/fp/fn/tp", *SHOWN,
           "tokens/s", "pad %", "MFU %", "train s", "eval s", "peak mem GB", "error"]
ERROR_WIDTH = 80
# Why fraudft.evaluate listed a metric in a record's metrics["undefined"] (its zero denominators).
STORED_REASONS = {"precision": "no positive prediction", "recall": "no positive label",
                  "f1": "no positive label or prediction"}
BASIS = {"pooled": "bootstrap, seeds pooled", "seed": "the seed's bootstrap",
         "envelope": "envelope of per-seed bootstraps"}


# --- one record -------------------------------------------------------------------------------

def peak_bytes(info: dict) -> tuple[str | None, float | None]:
    """(kind, bytes) of a run's peak memory: CUDA allocated bytes, else the process's peak RSS."""
    memory = info.get("peak_memory") or {}
    if memory.get("peak_allocated_bytes"):
        return "allocated", memory["peak_allocated_bytes"]
    if memory.get("peak_rss_bytes"):
        return "rss", memory["peak_rss_bytes"]
    return None, None


def status(record: dict) -> str:
    return (record.get("train_info") or {}).get("status", "?")


def is_ok(record: dict) -> bool:
    return status(record) == "success" and bool(record.get("metrics"))


def short_error(record: dict, width: int = ERROR_WIDTH) -> str:
    """The first line of a failed run's error, at most `width` characters."""
    error = (record.get("train_info") or {}).get("error") or ""
    line = " ".join(error.strip().splitlines()[0].split()) if error.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def fingerprint(record: dict) -> str | None:
    config = (record.get("run_info") or {}).get("config") or {}
    return ((config.get("data") or {}).get("fingerprints") or {}).get("test")


def labels_of(record: dict) -> list[int] | None:
    """The record's test labels as 0/1, if stored and as long as its predictions."""
    labels, predictions = record.get("labels"), record.get("predictions")
    if labels is None or predictions is None or len(labels) != len(predictions):
        return None
    return [int(bool(y)) for y in labels]


def record_metric(record: dict, metric: str, n_resamples: int | None = 1000) -> dict:
    """{"value", "low", "high", "undefined"} of one run's metric (no interval with n_resamples=None).

    From its labels and predictions through fraudft.stats when it stores labels, else as stored."""
    labels = labels_of(record)
    if labels is not None:
        if n_resamples is None:
            reason = stats.undefined_reason(metric, labels, record["predictions"])
            return {"value": stats.metric_value(metric, labels, record["predictions"]), "low": None,
                    "high": None, "undefined": reason}
        return stats.pooled_interval(labels, record["predictions"], metric, n_resamples=n_resamples)
    metrics = record.get("metrics") or {}
    if metric in (metrics.get("undefined") or []):
        return {"value": None, "low": None, "high": None, "undefined": STORED_REASONS.get(metric, "undefined")}
    low, high = (metrics.get("intervals") or {}).get(metric) or (None, None)
    return {"value": metrics.get(metric), "low": low, "high": high, "undefined": None}


def format_metric(value: float | None, low: float | None = None, high: float | None = None,
                  undefined: str | None = None, sd: float | None = None) -> str:
    """`0.812 ± 0.010 [0.770, 0.850]`, `— (no positive prediction)` when undefined, "" when unknown."""
    if undefined:
        return f"— ({undefined})"
    if value is None:
        return ""
    text = f"{value:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")
    return text + (f" [{low:.3f}, {high:.3f}]" if low is not None else "")


def _format(m: dict) -> str:
    return format_metric(m["value"], m["low"], m["high"], m["undefined"])


def records_frame(records: list[dict], n_resamples: int = 1000) -> pd.DataFrame:
    """One row per record with the figures people compare."""
    rows = []
    for r in records:
        info, metrics = r.get("train_info") or {}, r.get("metrics") or {}
        lora = ((r.get("run_info") or {}).get("config", {}).get("arm") or {}).get("lora")
        ok = is_ok(r)
        memory = peak_bytes(info)[1]
        rows.append({
            "backend": recipe_of(r), "arm": r.get("arm"), "seed": r.get("seed"),
            "status": info.get("status", "?") + ("*" if (r.get("run_info") or {}).get("dirty") else ""),
            "scale": info.get("lora_scale") if lora else None,
            "steps": info.get("steps"),
            "tn/fp/fn/tp": "/".join(str(metrics.get(k)) for k in ("tn", "fp", "fn", "tp")) if metrics else "",
            **{m: _format(record_metric(r, m, n_resamples)) if ok else "" for m in SHOWN},
            "tokens/s": round(info["tokens_per_s"]) if info.get("tokens_per_s") else None,
            "pad %": round(100 * info["padding_fraction"], 1) if info.get("computed_tokens") else None,
            "MFU %": round(100 * mfu, 1) if (mfu := (info.get("mfu") or {}).get("mfu")) else None,  # GPUs it knows
            "train s": round(info["train_seconds"], 1) if info.get("train_seconds") else None,
            "eval s": round(metrics["eval_seconds"], 1) if metrics.get("eval_seconds") else None,
            "peak mem GB": round(memory / 2**30, 2) if memory else None,
            "error": short_error(r),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(columns: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(records: list[dict], n_resamples: int = 1000) -> str:
    """The records as a markdown table (metrics with 95% bootstrap intervals).

    The `error` column is shown only when some run failed."""
    frame = records_frame(records, n_resamples).astype(object).where(lambda f: f.notna(), "")
    if not (frame["error"] != "").any():
        frame = frame.drop(columns="error")
    return markdown(list(frame.columns), frame.values.tolist())


# --- one arm over seeds -------------------------------------------------------------------------

def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _common_labels(runs: list[dict]) -> list[int] | None:
    """The test labels of the runs, if every run stores the same ones."""
    found = [labels_of(r) for r in runs]
    if not found or any(lab is None or lab != found[0] for lab in found):
        return None
    return found[0]


def _arm_metric(ok: list[dict], labels: list[int] | None, metric: str, n_resamples: int) -> dict:
    """mean, sd and per-seed values of a metric, and its interval: pooled when labels are common."""
    per_seed = [record_metric(r, metric, None) for r in ok]
    values = [m["value"] for m in per_seed if m["undefined"] is None and m["value"] is not None]
    reasons = [m["undefined"] for m in per_seed if m["undefined"]]
    out = {"mean": _mean(values), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
           "values": values, "low": None, "high": None, "basis": None,
           "undefined": reasons[0] if reasons and not values else None}
    if labels is not None:
        pooled = stats.pooled_interval(labels, [r["predictions"] for r in ok], metric, n_resamples=n_resamples)
        out.update(low=pooled["low"], high=pooled["high"], basis="pooled", undefined=pooled["undefined"])
    elif values:
        seeds = [record_metric(r, metric) for r in ok]
        seeds = [(m["low"], m["high"]) for m in seeds if m["low"] is not None and m["undefined"] is None]
        if seeds:
            out.update(low=min(s[0] for s in seeds), high=max(s[1] for s in seeds),
                       basis="seed" if len(ok) == 1 else "envelope")
    return out


def summarize_arm(runs: list[dict], n_resamples: int = 1000) -> dict:
    """Seeds of one (recipe, arm): counts, failures, speed, memory, and per metric its mean, sd and interval.

    Interval basis: `pooled` (labels stored: cluster bootstrap of the seeds, fraudft.stats), `seed`
    (one seed, no labels: its stored interval) or `envelope` (lowest stored low to highest high)."""
    ok = [r for r in runs if is_ok(r)]
    labels = _common_labels(ok) if ok else None
    mems = [peak_bytes(r.get("train_info") or {}) for r in ok]
    kinds = {kind for kind, value in mems if value}
    memory_kind = kinds.pop() if len(kinds) == 1 else None
    metrics = {m: _arm_metric(ok, labels, m, n_resamples) for m in stats.METRICS} if ok else {}
    bases = {m["basis"] for m in metrics.values() if m["basis"]}
    return {
        "backend": recipe_of(runs[0]), "arm": runs[0]["arm"], "runs": len(runs), "ok": len(ok),
        "seeds": [r.get("seed") for r in runs], "failed": [r for r in runs if status(r) == "failed"],
        "dirty": any((r.get("run_info") or {}).get("dirty") for r in runs),
        "models": sorted({model_of(r) for r in runs}), "fingerprints": {fingerprint(r) for r in ok},
        "labels": labels, "predictions": [r["predictions"] for r in ok],
        "memory_kind": memory_kind,
        "peak_bytes": _mean([value for _, value in mems]) if memory_kind else None,
        "tokens_per_s": _mean([(r.get("train_info") or {}).get("tokens_per_s") for r in ok]),
        "metrics": metrics, "interval_basis": bases.pop() if len(bases) == 1 else None,
    }


def arm_cell(summary: dict, metric: str) -> str:
    m = summary["metrics"].get(metric)
    return format_metric(m["mean"], m["low"], m["high"], m["undefined"], m["sd"]) if m else ""


def summary_table(summaries: list[dict]) -> str:
    """Per-arm means ± sd over successful seeds with 95% intervals, as markdown."""
    rows = []
    for s in summaries:
        state = "success" if s["ok"] == s["runs"] else ("failed" if s["ok"] == 0 else "partly failed")
        rows.append([s["backend"], s["arm"], f"{s['ok']}/{s['runs']}", state + ("*" if s["dirty"] else ""),
                     *(arm_cell(s, m) for m in SHOWN), BASIS.get(s["interval_basis"], "")])
    return markdown(["backend", "arm", "seeds ok", "status", *SHOWN, "95% interval"], rows)


def _header(records: list[dict], commit: str) -> str:
    recipes = sorted({recipe_of(r) for r in records})
    dirty = any((r.get("run_info") or {}).get("dirty") for r in records)
    dates = sorted(d for d in ((r.get("run_info") or {}).get("date") for r in records) if d)
    when = "" if not dates else f", {dates[0]}" if dates[0] == dates[-1] else f", {dates[0]} to {dates[-1]}"
    return (f"## fraudft results {commit}: {len(records)} records, backend{'s' if len(recipes) > 1 else ''} "
            f"{', '.join(recipes)}{when}" + ("  (* = run from a work tree with uncommitted changes)" if dirty else ""))


def table_report(records: list[dict], commit: str, n_resamples: int = 1000) -> str:
    """A commit's runs as markdown: one row per record, and a per-arm summary when an arm has several seeds."""
    records = sort_records(records)
    parts = [_header(records, commit), "", markdown_table(records, n_resamples)]
    groups = group_runs(records)
    if any(len(runs) > 1 for runs in groups.values()):
        summaries = [summarize_arm(runs, n_resamples=n_resamples) for runs in groups.values()]
        parts += ["", "### Per arm: mean ± sd over successful seeds, 95% interval", "", summary_table(summaries)]
    return "\n".join(parts)
