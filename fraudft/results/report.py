"""Tables, comparisons and plots of results records.

    fraudft results table [REV]              markdown table of a commit's runs (default HEAD)
    fraudft results compare REV_A REV_B      per-arm deltas, regressions flagged
    fraudft results plot [REV] --out DIR     PNG charts: precision/recall with intervals, loss curves

REV is a folder under the results dir (used as it is), else a git revision resolved to the short
hash records are stored under. Where records carry the test `labels`, intervals pool the seeds and
comparisons get a paired bootstrap over test examples; without them, per-seed intervals are shown.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from fraudft.configs import arm_order
from fraudft.errors import UsageError

COLUMNS = ["backend", "arm", "seed", "status", "scale", "steps", "tn/fp/fn/tp", "precision", "recall", "f1",
           "tokens/s", "train s", "eval s", "peak mem GB", "error"]
METRICS = ("precision", "recall", "f1")
RECORD_NAME = re.compile(r"^(?P<arm>.+)-seed(?P<seed>\d+)\.json$")
ERROR_WIDTH = 80


# --- one record -------------------------------------------------------------------------------

def _peak_bytes(info: dict) -> tuple[str | None, float | None]:
    """(kind, bytes) of a run's peak memory: CUDA allocated bytes, else the process's peak RSS."""
    memory = info.get("peak_memory") or {}
    if memory.get("peak_allocated_bytes"):
        return "allocated", memory["peak_allocated_bytes"]
    if memory.get("peak_rss_bytes"):
        return "rss", memory["peak_rss_bytes"]
    return None, None


def _peak_gb(info: dict) -> float | None:
    value = _peak_bytes(info)[1]
    return round(value / 2**30, 2) if value else None


def _interval(metrics: dict, name: str) -> str:
    value = metrics.get(name)
    if value is None:
        return ""
    low, high = (metrics.get("intervals") or {}).get(name, (None, None))
    return f"{value:.3f}" if low is None else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _status(record: dict) -> str:
    return (record.get("train_info") or {}).get("status", "?")


def _ok(record: dict) -> bool:
    return _status(record) == "success" and bool(record.get("metrics"))


def short_error(record: dict, width: int = ERROR_WIDTH) -> str:
    """The first line of a failed run's error, at most `width` characters."""
    error = (record.get("train_info") or {}).get("error") or ""
    line = " ".join(error.strip().splitlines()[0].split()) if error.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _fingerprint(record: dict) -> str | None:
    config = (record.get("run_info") or {}).get("config") or {}
    return ((config.get("data") or {}).get("fingerprints") or {}).get("test")


def _labels(record: dict) -> list[int] | None:
    """The record's test labels as 0/1, if stored and as long as its predictions."""
    labels, predictions = record.get("labels"), record.get("predictions")
    if labels is None or predictions is None or len(labels) != len(predictions):
        return None
    return [int(bool(y)) for y in labels]


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record with the figures people compare."""
    rows = []
    for r in records:
        info, metrics = r.get("train_info") or {}, r.get("metrics") or {}
        lora = ((r.get("run_info") or {}).get("config", {}).get("arm") or {}).get("lora")
        rows.append({
            "backend": r.get("backend"), "arm": r.get("arm"), "seed": r.get("seed"),
            "status": info.get("status", "?") + ("*" if (r.get("run_info") or {}).get("dirty") else ""),
            "scale": info.get("lora_scale") if lora else None,
            "steps": info.get("steps"),
            "tn/fp/fn/tp": "/".join(str(metrics.get(k)) for k in ("tn", "fp", "fn", "tp")) if metrics else "",
            "precision": _interval(metrics, "precision"), "recall": _interval(metrics, "recall"),
            "f1": _interval(metrics, "f1"),
            "tokens/s": round(info["tokens_per_s"]) if info.get("tokens_per_s") else None,
            "train s": round(info["train_seconds"], 1) if info.get("train_seconds") else None,
            "eval s": round(metrics["eval_seconds"], 1) if metrics.get("eval_seconds") else None,
            "peak mem GB": _peak_gb(info),
            "error": short_error(r),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown(columns: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(records: list[dict]) -> str:
    """The records as a markdown table (precision/recall/F1 with 95% bootstrap intervals).

    The `error` column is shown only when some run failed."""
    frame = records_frame(records).astype(object).where(lambda f: f.notna(), "")
    if not (frame["error"] != "").any():
        frame = frame.drop(columns="error")
    return _markdown(list(frame.columns), frame.values.tolist())


# --- loading ------------------------------------------------------------------------------------

def _commit_folders(root: Path) -> list[Path]:
    return [p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")] if Path(root).is_dir() else []


def available_commits(root: Path) -> list[tuple[str, int, datetime.datetime]]:
    """(commit, number of records, newest record's time) of each commit folder, newest first."""
    found = []
    for folder in _commit_folders(root):
        files = list(folder.glob("*/*.json"))
        if files:
            newest = max(f.stat().st_mtime for f in files)
            found.append((folder.name, len(files), datetime.datetime.fromtimestamp(newest)))
    return sorted(found, key=lambda c: c[2], reverse=True)


def _no_records(root: Path, what: str) -> UsageError:
    if not Path(root).is_dir():
        return UsageError(f"results: no results dir {root}/, expected the folder `pytest bench --results-dir` wrote")
    commits = available_commits(root)
    if not commits:
        return UsageError(f"results: no records for {what}: {root}/ holds none yet, run `pytest bench` first")
    listed = ", ".join(f"{c} ({n} records, {t:%Y-%m-%d %H:%M})" for c, n, t in commits[:10])
    more = f" and {len(commits) - 10} more" if len(commits) > 10 else ""
    return UsageError(f"results: no records for {what} under {root}/; commits with records: {listed}{more}")


def _match(names: list[str], key: str) -> str | None:
    """The folder named key, or the only one a hash prefix of it (or it of them) points at."""
    if key in names:
        return key
    if len(key) < 7 or not re.fullmatch(r"[0-9a-fA-F]+", key):
        return None
    hits = [n for n in names if n.startswith(key) or key.startswith(n)]
    return hits[0] if len(hits) == 1 else None


def resolve_results_commit(root: Path, rev: str, cwd: Path | None = None) -> str:
    """The commit folder under root for REV: a folder name as it is, else a git revision."""
    from fraudft.results.store import resolve_commit

    names = [p.name for p in _commit_folders(root)]
    if rev in names:
        return rev
    try:
        commit = resolve_commit(rev, cwd=cwd)
    except ValueError:
        commit = None
    found = _match(names, commit) if commit else None
    found = found or _match(names, rev)
    if found is None:
        what = f"{rev} ({commit})" if commit else f"{rev} (neither a folder there nor a git revision here)"
        raise _no_records(root, what if commit != rev else rev)
    return found


def load_commit(root: Path, commit: str, backend: str | None = None) -> list[dict]:
    """The records of a commit folder (one backend's with `backend`), sorted by backend, arm, seed.

    Like fraudft.results.load_records, but a bad file is named in the error, and a record's
    backend, arm and seed default to what its path says."""
    folder = Path(root) / commit
    if not folder.is_dir():
        raise _no_records(root, commit)
    records = []
    for path in sorted(folder.glob("*/*.json")):
        try:
            with open(path, encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            raise UsageError(f"{path}: not a readable JSON record ({err})") from None
        if not isinstance(record, dict):
            raise UsageError(f"{path}: expected a JSON object, got {type(record).__name__}")
        name = RECORD_NAME.match(path.name)
        record.setdefault("backend", path.parent.name)
        record.setdefault("arm", name["arm"] if name else path.stem)
        record.setdefault("seed", int(name["seed"]) if name else 0)
        record["path"] = str(path)
        records.append(record)
    if not records:
        raise _no_records(root, commit)
    if backend is not None:
        chosen = [r for r in records if backend in (r["backend"], Path(r["path"]).parent.name)]
        if not chosen:
            present = sorted({r["backend"] for r in records})
            raise UsageError(f"--backend: no {backend!r} records for {commit}, expected one of {', '.join(present)}")
        records = chosen
    return sort_records(records)


def sort_records(records: list[dict]) -> list[dict]:
    """By backend, then arm in the order of fraudft/configs/arms.toml (unknown arms after, by name), then seed."""
    rank = arm_order()

    def key(r):
        return (str(r.get("backend")), rank.get(r.get("arm"), len(rank)), str(r.get("arm")), int(r.get("seed") or 0))

    return sorted(records, key=key)


def group_runs(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """Records keyed by (backend, arm), in sort_records order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in sort_records(records):
        groups.setdefault((r["backend"], r["arm"]), []).append(r)
    return groups


# --- statistics over seeds ----------------------------------------------------------------------

def _pooled_metric(name: str, labels, predictions, axis: int = -1):
    """A metric on the confusion counts of several prediction vectors (seeds) against one label vector."""
    y = np.asarray(labels, bool)
    tp = sum(np.sum(y & np.asarray(p, bool), axis=axis) for p in predictions)
    predicted = sum(np.sum(np.asarray(p, bool), axis=axis) for p in predictions)
    positives = np.sum(y, axis=axis) * len(predictions)
    den = {"precision": predicted, "recall": positives, "f1": (predicted + positives) / 2}[name]
    den = np.asarray(den, float)
    return np.where(den > 0, np.asarray(tp, float) / np.where(den > 0, den, 1.0), 0.0)


def pooled_interval(labels, predictions: list, metric: str, n_resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of a metric over seeds pooled together.

    Test examples are resampled, each with its label and every seed's prediction (a cluster
    bootstrap): repeating the same test set k times does not shrink the interval as if it had k
    times the examples. With one seed it is fraudft.stats.bootstrap_interval's interval."""
    from scipy.stats import bootstrap

    data = (np.asarray(labels, bool), *(np.asarray(p, bool) for p in predictions))
    result = bootstrap(data, lambda y, *ps, axis=-1: _pooled_metric(metric, y, ps, axis), paired=True,
                       vectorized=True, n_resamples=n_resamples, method="percentile", confidence_level=0.95,
                       rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return float(low), float(high)


def pooled_compare(labels, predictions_a: list, predictions_b: list, metric: str = "f1",
                   n_resamples: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of metric(b) - metric(a), each side's seeds pooled, over test examples.

    With one seed a side it is fraudft.stats.compare(labels, b, a, metric)."""
    from scipy.stats import bootstrap

    k = len(predictions_a)
    y = np.asarray(labels, bool)
    delta = float(_pooled_metric(metric, y, predictions_b) - _pooled_metric(metric, y, predictions_a))
    data = (y, *(np.asarray(p, bool) for p in predictions_a), *(np.asarray(p, bool) for p in predictions_b))

    def statistic(y_, *ps, axis=-1):
        return _pooled_metric(metric, y_, ps[k:], axis) - _pooled_metric(metric, y_, ps[:k], axis)

    result = bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=n_resamples, method="percentile",
                       confidence_level=0.95, rng=np.random.default_rng(seed))
    low, high = (float(x) for x in result.confidence_interval)
    return {"metric": metric, "delta": delta, "low": low, "high": high, "significant": bool(low > 0 or high < 0)}


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _common_labels(runs: list[dict]) -> list[int] | None:
    """The test labels shared by all runs (those that have them), if every run's predictions fit them."""
    found = [lab for lab in (_labels(r) for r in runs) if lab is not None]
    if not found or any(lab != found[0] for lab in found):
        return None
    if any(len(r.get("predictions") or []) != len(found[0]) for r in runs):
        return None
    return found[0]


def summarize_arm(runs: list[dict], n_resamples: int = 1000) -> dict:
    """Seeds of one (backend, arm): counts, mean and sd of each metric, a 95% interval per metric.

    interval_basis: `pooled` (labels stored: cluster bootstrap of the seeds pooled), `seed` (one
    seed: its own interval) or `envelope` (several seeds, no labels: lowest low to highest high)."""
    ok = [r for r in runs if _ok(r)]
    summary = {"backend": runs[0]["backend"], "arm": runs[0]["arm"], "runs": len(runs), "ok": len(ok),
               "seeds": [r.get("seed") for r in runs], "failed": [r for r in runs if _status(r) == "failed"],
               "dirty": any((r.get("run_info") or {}).get("dirty") for r in runs),
               "fingerprints": {_fingerprint(r) for r in ok}, "labels": _common_labels(ok) if ok else None,
               "predictions": [r["predictions"] for r in ok if r.get("predictions") is not None]}
    mems = [_peak_bytes(r.get("train_info") or {}) for r in ok]
    kinds = {kind for kind, value in mems if value}
    summary["memory_kind"] = kinds.pop() if len(kinds) == 1 else None
    summary["peak_bytes"] = _mean([value for _, value in mems]) if summary["memory_kind"] else None
    summary["tokens_per_s"] = _mean([(r.get("train_info") or {}).get("tokens_per_s") for r in ok])
    summary["intervals"], summary["interval_basis"] = {}, None
    for metric in METRICS:
        values = [r["metrics"].get(metric) for r in ok if r["metrics"].get(metric) is not None]
        summary[metric] = float(np.mean(values)) if values else None
        summary[f"{metric}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
        summary[f"{metric}_values"] = values
        if not values:
            continue
        if summary["labels"] is not None and len(summary["predictions"]) == len(ok):
            summary["intervals"][metric] = pooled_interval(summary["labels"], summary["predictions"], metric,
                                                           n_resamples=n_resamples)
            summary["interval_basis"] = "pooled"
        else:
            seeds = [(r["metrics"].get("intervals") or {}).get(metric) for r in ok]
            seeds = [s for s in seeds if s and s[0] is not None]
            if seeds:
                summary["intervals"][metric] = (min(s[0] for s in seeds), max(s[1] for s in seeds))
                summary["interval_basis"] = "seed" if len(ok) == 1 else "envelope"
    return summary


# --- table ----------------------------------------------------------------------------------------

def _with_interval(summary: dict, metric: str) -> str:
    value = summary.get(metric)
    if value is None:
        return ""
    text = f"{value:.3f}"
    if summary.get(f"{metric}_sd") is not None:
        text += f" ± {summary[f'{metric}_sd']:.3f}"
    if metric in summary["intervals"]:
        low, high = summary["intervals"][metric]
        text += f" [{low:.3f}, {high:.3f}]"
    return text


BASIS = {"pooled": "bootstrap, seeds pooled", "seed": "the seed's bootstrap",
         "envelope": "envelope of per-seed bootstraps"}


def summary_table(summaries: list[dict]) -> str:
    """Per-arm means ± sd over successful seeds with 95% intervals, as markdown."""
    rows = []
    for s in summaries:
        status = "success" if s["ok"] == s["runs"] else ("failed" if s["ok"] == 0 else "partly failed")
        rows.append([s["backend"], s["arm"], f"{s['ok']}/{s['runs']}", status + ("*" if s["dirty"] else ""),
                     *(_with_interval(s, m) for m in METRICS), BASIS.get(s["interval_basis"], "")])
    return _markdown(["backend", "arm", "seeds ok", "status", "precision", "recall", "f1", "95% interval"], rows)


def _header(records: list[dict], commit: str) -> str:
    backends = sorted({r["backend"] for r in records})
    dirty = any((r.get("run_info") or {}).get("dirty") for r in records)
    dates = sorted(d for d in ((r.get("run_info") or {}).get("date") for r in records) if d)
    when = "" if not dates else f", {dates[0]}" if dates[0] == dates[-1] else f", {dates[0]} to {dates[-1]}"
    return (f"## fraudft results {commit}: {len(records)} records, backend{'s' if len(backends) > 1 else ''} "
            f"{', '.join(backends)}{when}" + ("  (* = run from a work tree with uncommitted changes)" if dirty else ""))


def table_report(records: list[dict], commit: str, n_resamples: int = 1000) -> str:
    """A commit's runs as markdown: one row per record, and a per-arm summary when an arm has several seeds."""
    records = sort_records(records)
    parts = [_header(records, commit), "", markdown_table(records)]
    groups = group_runs(records)
    if any(len(runs) > 1 for runs in groups.values()):
        summaries = [summarize_arm(runs, n_resamples=n_resamples) for runs in groups.values()]
        parts += ["", "### Per arm: mean ± sd over successful seeds, 95% interval", "", summary_table(summaries)]
    return "\n".join(parts)


# --- compare --------------------------------------------------------------------------------------

def _arrow(a: float | None, b: float | None, digits: int = 3) -> str:
    if a is None and b is None:
        return ""
    fa = "—" if a is None else f"{a:.{digits}f}"
    fb = "—" if b is None else f"{b:.{digits}f}"
    delta = f" ({round(b - a, digits) + 0.0:+.{digits}f})" if a is not None and b is not None else ""  # no -0.000
    return f"{fa} → {fb}{delta}"


def _relative(a: float | None, b: float | None) -> float | None:
    return (b - a) / a if a and b is not None else None


def _arrow_relative(a: float | None, b: float | None, scale: float = 1.0, digits: int = 0, unit: str = "") -> str:
    if a is None and b is None:
        return ""
    fa = "—" if a is None else f"{a / scale:.{digits}f}"
    fb = "—" if b is None else f"{b / scale:.{digits}f}"
    rel = _relative(a, b)
    return f"{fa} → {fb}{unit}" + (f" ({rel:+.1%})" if rel is not None else "")


def compare_arm(a: dict | None, b: dict | None, tolerance_f1: float = 0.02, tolerance_throughput: float = 0.10,
                tolerance_memory: float = 0.10, n_resamples: int = 1000) -> dict:
    """One (backend, arm) between summaries a (before) and b (after): deltas, regressions, notes."""
    row = {"backend": (a or b)["backend"], "arm": (a or b)["arm"], "regressions": [], "notes": [],
           "change": "same", "significance": None}
    if a is None or b is None:
        row["change"] = "added" if a is None else "removed"
        if b is not None and b["failed"]:  # a new arm that fails is a run that now fails
            row["regressions"].append(f"failed ({len(b['failed'])}/{b['runs']} seeds): {short_error(b['failed'][0], 60)}")
        return row
    if b["failed"] and not a["failed"]:
        row["regressions"].append(f"failed ({len(b['failed'])}/{b['runs']} seeds): {short_error(b['failed'][0], 60)}")
    elif a["failed"] and not b["failed"]:
        row["notes"].append("fixed (failed before)")
    elif a["failed"] and b["failed"]:
        row["notes"].append("failed in both")
    f1_a, f1_b = a.get("f1"), b.get("f1")
    if f1_a is not None and f1_b is not None and f1_b - f1_a < -tolerance_f1:
        row["regressions"].append(f"F1 {f1_b - f1_a:+.3f} (tolerance {tolerance_f1})")
    if a["fingerprints"] and b["fingerprints"] and a["fingerprints"] != b["fingerprints"]:
        row["notes"].append("test data differs")
    elif (a["labels"] is not None or b["labels"] is not None) and a["predictions"] and b["predictions"]:
        labels = a["labels"] if a["labels"] is not None else b["labels"]
        if b["labels"] is not None and b["labels"] != labels:
            row["notes"].append("test labels differ")
        elif all(len(p) == len(labels) for p in a["predictions"] + b["predictions"]):
            row["significance"] = pooled_compare(labels, a["predictions"], b["predictions"], "f1", n_resamples)
    rel = _relative(a["tokens_per_s"], b["tokens_per_s"])
    if rel is not None and rel < -tolerance_throughput:
        row["regressions"].append(f"tokens/s {rel:+.1%} (tolerance {tolerance_throughput:.0%})")
    if a["memory_kind"] and a["memory_kind"] == b["memory_kind"]:
        rel = _relative(a["peak_bytes"], b["peak_bytes"])
        if rel is not None and rel > tolerance_memory:
            row["regressions"].append(f"peak memory {rel:+.1%} (tolerance {tolerance_memory:.0%})")
    elif a["memory_kind"] and b["memory_kind"]:
        row["notes"].append(f"memory measured differently ({a['memory_kind']} vs {b['memory_kind']})")
    row["change"] = "regressed" if row["regressions"] else "ok"
    return row


def compare_records(records_a: list[dict], records_b: list[dict], **tolerances) -> list[tuple[dict | None, dict | None, dict]]:
    """(summary a, summary b, compare_arm row) for each (backend, arm) in either commit."""
    n_resamples = tolerances.pop("n_resamples", 1000)
    groups_a, groups_b = group_runs(records_a), group_runs(records_b)
    rank = arm_order()
    keys = sorted(set(groups_a) | set(groups_b), key=lambda k: (k[0], rank.get(k[1], len(rank)), k[1]))
    rows = []
    for key in keys:
        a = summarize_arm(groups_a[key], n_resamples) if key in groups_a else None
        b = summarize_arm(groups_b[key], n_resamples) if key in groups_b else None
        rows.append((a, b, compare_arm(a, b, n_resamples=n_resamples, **tolerances)))
    return rows


def _memory_cell(a: dict | None, b: dict | None) -> str:
    values = [s["peak_bytes"] if s else None for s in (a, b)]
    kind = (a or {}).get("memory_kind") or (b or {}).get("memory_kind")
    text = _arrow_relative(*values, scale=2**30, digits=2, unit=" GB")
    return f"{text} {kind}" if text and kind else text


def compare_report(records_a: list[dict], records_b: list[dict], commit_a: str, commit_b: str,
                   tolerance_f1: float = 0.02, tolerance_throughput: float = 0.10, tolerance_memory: float = 0.10,
                   n_resamples: int = 1000) -> tuple[str, int]:
    """Markdown of per-arm deltas from commit_a to commit_b, and the number of regressed arms."""
    rows = compare_records(records_a, records_b, tolerance_f1=tolerance_f1, tolerance_throughput=tolerance_throughput,
                           tolerance_memory=tolerance_memory, n_resamples=n_resamples)
    lines = []
    for a, b, row in rows:
        sig = row["significance"]
        ci = f"[{sig['low']:+.3f}, {sig['high']:+.3f}] {'significant' if sig['significant'] else 'n.s.'}" if sig else "—"
        if row["change"] in ("added", "removed"):
            verdict = row["change"] + ("; **REGRESSION**: " + "; ".join(row["regressions"]) if row["regressions"] else "")
        elif row["regressions"]:
            verdict = "**REGRESSION**: " + "; ".join(row["regressions"])
        else:
            verdict = "ok"
        if row["notes"]:
            verdict += " (" + "; ".join(row["notes"]) + ")"
        seeds = f"{a['ok'] if a else 0}/{a['runs'] if a else 0} → {b['ok'] if b else 0}/{b['runs'] if b else 0}"
        lines.append([row["backend"], row["arm"], seeds,
                      *(_arrow(a and a.get(m), b and b.get(m)) for m in METRICS), ci,
                      _arrow_relative(a and a["tokens_per_s"], b and b["tokens_per_s"]), _memory_cell(a, b), verdict])
    dirty = list(dict.fromkeys(c for c, recs in ((commit_a, records_a), (commit_b, records_b))
                               if any((r.get("run_info") or {}).get("dirty") for r in recs)))
    regressed = [row for _, _, row in rows if row["regressions"]]
    out = [f"## fraudft results compare {commit_a} → {commit_b}",
           "",
           f"Means over successful seeds. Regression: F1 drop > {tolerance_f1}, tokens/s drop > "
           f"{tolerance_throughput:.0%}, peak memory growth > {tolerance_memory:.0%}, or a run that now fails. "
           "ΔF1 95% CI: paired bootstrap over test examples, seeds pooled (— where records carry no `labels`)."
           + (f" Run from uncommitted changes: {', '.join(dirty)}." if dirty else ""),
           "",
           _markdown(["backend", "arm", "seeds ok", "precision", "recall", "f1", "ΔF1 95% CI", "tokens/s",
                      "peak mem", "verdict"], lines),
           ""]
    if regressed:
        out.append(f"{len(regressed)} regressed: " + ", ".join(f"{r['backend']}/{r['arm']}" for r in regressed))
    else:
        out.append("no regressions")
    added = [f"{r['backend']}/{r['arm']}" for _, _, r in rows if r["change"] == "added"]
    removed = [f"{r['backend']}/{r['arm']}" for _, _, r in rows if r["change"] == "removed"]
    if added:
        out.append(f"added in {commit_b}: {', '.join(added)}")
    if removed:
        out.append(f"removed in {commit_b}: {', '.join(removed)}")
    return "\n".join(out), len(regressed)


# --- plots ----------------------------------------------------------------------------------------

def plot_precision_recall(records: list[dict], commit: str, path: Path, n_resamples: int = 1000) -> Path:
    """Per arm, bars of mean precision and recall with 95% interval error bars; one panel per backend."""
    from matplotlib.figure import Figure

    groups = group_runs(records)
    backends = sorted({backend for backend, _ in groups})
    counts = [sum(1 for b, _ in groups if b == backend) for backend in backends]
    fig = Figure(figsize=(max(6.0, 1.1 * sum(counts) + 1.5 * len(backends)), 5.2), layout="constrained")
    axes = fig.subplots(1, len(backends), squeeze=False, width_ratios=[max(c, 2) for c in counts])[0]
    colors = {"precision": "#3b75af", "recall": "#ef8636"}
    for ax, backend in zip(axes, backends):
        summaries = [summarize_arm(runs, n_resamples) for (b, _), runs in groups.items() if b == backend]
        x = np.arange(len(summaries))
        for offset, metric in ((-0.2, "precision"), (0.2, "recall")):
            labelled = False
            for i, s in enumerate(summaries):
                value = s.get(metric)
                if value is None:
                    continue
                low, high = s["intervals"].get(metric, (value, value))
                yerr = [[max(value - low, 0)], [max(high - value, 0)]]
                ax.bar(x[i] + offset, value, 0.38, color=colors[metric], yerr=yerr, capsize=3,
                       error_kw={"elinewidth": 1}, label=None if labelled else metric)
                labelled = True
                ax.text(x[i] + offset, high + 0.01, f"{value:.2f}", ha="center", va="bottom", fontsize=7)
                seeds = s[f"{metric}_values"]
                if len(seeds) > 1:  # each seed's value as a dot
                    ax.plot([x[i] + offset] * len(seeds), seeds, "k.", ms=4)
        for i, s in enumerate(summaries):
            if s["ok"] == 0:
                ax.text(x[i], 0.02, "failed", rotation=90, ha="center", va="bottom", color="#b00020", fontsize=9)
        labels = [s["arm"] + (f" ({s['ok']}/{s['runs']} seeds)" if s["runs"] > 1 else "") for s in summaries]
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_xlim(-0.6, max(len(summaries), 2) - 0.4)
        ax.set_ylim(0, 1.2)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_ylabel("test set")
        ax.grid(axis="y", alpha=0.3)
        bases = sorted({BASIS[s["interval_basis"]] for s in summaries if s["interval_basis"]})
        ax.set_title(f"{backend}" + (f"\nerror bars: {'; '.join(bases)}" if bases else ""), fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", ncol=2, fontsize=9)
    fig.suptitle(f"precision and recall with 95% intervals, commit {commit}")
    fig.savefig(path, dpi=110)
    return path


def _loss_points(history: list[dict], key: str) -> tuple[list, list]:
    points = [(h["step"], h[key]) for h in history if key in h and "step" in h and h[key] is not None]
    return [p[0] for p in points], [p[1] for p in points]


def plot_loss_curves(records: list[dict], commit: str, path: Path) -> Path:
    """Training loss (solid) and eval loss (dashed) vs step, one panel per (backend, arm), one color per seed."""
    from matplotlib.figure import Figure

    groups = {key: [r for r in runs if (r.get("train_info") or {}).get("log_history")]
              for key, runs in group_runs(records).items()}
    groups = {key: runs for key, runs in groups.items() if runs}
    n = max(len(groups), 1)
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.3 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    if not groups:
        axes[0].text(0.5, 0.5, "no training logs (train_info.log_history) in these records", ha="center",
                     va="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
    palette = ["#3b75af", "#ef8636", "#519e3e", "#c53a32", "#8d69b8", "#84584e"]
    for ax, ((backend, arm), runs) in zip(axes, groups.items()):
        positive = True
        for j, r in enumerate(runs):
            history = r["train_info"]["log_history"]
            color = palette[j % len(palette)]
            for key, style in (("loss", "-"), ("eval_loss", "--o")):
                steps, values = _loss_points(history, key)
                if steps:
                    positive &= min(values) > 0
                    ax.plot(steps, values, style, color=color, ms=3, lw=1.2,
                            label=f"{'train' if key == 'loss' else 'eval'} seed{r.get('seed')}")
        if positive and ax.lines:
            ax.set_yscale("log")
        ax.set_title(f"{backend} / {arm}", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(groups):] if groups else []:
        ax.set_axis_off()
    fig.suptitle(f"training (solid) and eval (dashed) loss, commit {commit}")
    fig.savefig(path, dpi=110)
    return path


def plot_records(records: list[dict], commit: str, out: Path, n_resamples: int = 1000) -> list[Path]:
    """Write precision_recall.png and loss_curves.png into out; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [plot_precision_recall(records, commit, out / "precision_recall.png", n_resamples),
            plot_loss_curves(records, commit, out / "loss_curves.png")]
