"""One self-contained HTML page of a commit's records: tables, verdicts, interactive plots, history.

    fraudft results report [REV] --out report.html [--results-dir results] [--metric NAME ...]
    from fraudft.results.report import write_report
    write_report(records, commit, "report.html", root="results")

The page needs no network: plotly.js (fraudft.results.report_figures draws the figures) is inlined
once in its head and every figure's data is inline. It opens with a headline: the commit's subject
(git), the gate's verdict (every expectation passed, or which failed) and the findings in words with
their fixes (fraudft.results.findings). It holds the per-arm table (table.py's
summaries: every registered metric, decision metrics included, with its 95% interval) with the
expectation verdicts, the per-run table, precision/recall bars, PR curves, the reliability diagram,
the alpha/r sweeps, the loss curves, the robustness section, the data audit summary kept in the
records, the environment (meta_info) and the history charts of fraudft.results.history (one per
arm: the metric with its interval over commits, confirmed changes marked). An arm filter at the top
hides an arm's rows and traces everywhere. Rendered from templates/report.html.j2 with jinja2.
Which metrics the per-arm table, the history charts and the sweeps show is fraudft.results.views'
(views "report", "history", "sweep"); --metric NAME (repeatable) picks the table's and the charts'.
"""

from __future__ import annotations

import json
from pathlib import Path

from fraudft.metrics.registry import get_metric
from fraudft.results import report_figures as figures
from fraudft.results.expectations import judge_all
from fraudft.results.findings import findings
from fraudft.results.record import RunRecord
from fraudft.results.robustness import COLUMNS as ROBUSTNESS_COLUMNS
from fraudft.results.robustness import robustness_rows, robustness_table_rows
from fraudft.results.store import group_runs, sort_records
from fraudft.results.sweep import sweep_columns, sweep_kind, sweep_rows, sweep_summaries, trend_line
from fraudft.results.table import EXTRA_TITLE, arm_cell, extra_rows, records_frame, summarize_arms
from fraudft.results.views import view_metrics

HISTORY_LAST = 10  # commits in the history charts by default


# --- tables -------------------------------------------------------------------------------------

def _verdict_counts(verdicts: list) -> str:
    if not verdicts:
        return ""
    counts = {status: sum(v.status == status for v in verdicts) for status in ("pass", "fail", "not judged")}
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def summary_table(summaries: list[dict], verdicts: dict[str, list], metrics: list[str] | None = None) -> dict:
    """{"columns", "rows": [{"arm", "cells", "state"}]}: per arm the seeds, status, its expectations'
    verdicts and each metric of `metrics` (default: the report view's, fraudft.results.views) as
    table.py writes it (mean ± sd [95% interval])."""
    shown = view_metrics("report", metrics, "--metric")
    names = [m + ("" if get_metric(m).higher_is_better else " (lower is better)") for m in shown]
    rows = []
    for s in summaries:
        state = "success" if s["ok"] == s["runs"] else ("failed" if s["ok"] == 0 else "partly failed")
        own = [v for v in verdicts.get(s["backend"], []) if v.arm == s["arm"]]
        rows.append({"arm": s["arm"], "state": state,
                     "cells": [s["backend"], s["arm"], f"{s['ok']}/{s['runs']}", state + ("*" if s["dirty"] else ""),
                               _verdict_counts(own), *(arm_cell(s, m) for m in shown)]})
    return {"columns": ["backend", "arm", "seeds ok", "status", "expectations", *names], "rows": rows}


def verdict_rows(verdicts: dict[str, list]) -> list[dict]:
    """Per expectation: recipe, arm, the expectation, status, the weakest comparison and its Holm-adjusted p."""
    rows = []
    for recipe, found in verdicts.items():
        for v in found:
            weakest = ("" if v.delta is None else f"{v.delta:+.3f}" + (f" [{v.low:+.3f}, {v.high:+.3f}]" if v.low is not None else "")
                       + (f" vs {v.other}" if v.other else ""))
            notes = [v.why] if v.why else []
            notes += ["borderline: Monte Carlo error could flip it"] if v.borderline else []
            notes += ["one seed: conditional on seed 0"] if v.seeds == 1 else []
            rows.append({"arm": v.arm, "status": v.status,
                         "cells": [recipe, v.arm, v.expectation, v.status.upper(), weakest,
                                   "" if v.p_adjusted is None else f"{v.p_adjusted:.3g}", "; ".join(notes)]})
    return rows


def runs_table(records: list[RunRecord]) -> dict:
    """table.py's per-run frame (records_frame) as {"columns", "rows": [{"arm", "cells"}]}."""
    frame = records_frame(records).astype(object).where(lambda f: f.notna(), "")
    if not (frame["error"] != "").any():
        frame = frame.drop(columns="error")
    return {"columns": list(frame.columns),
            "rows": [{"arm": row[1], "cells": row} for row in frame.values.tolist()]}


# --- the headline -------------------------------------------------------------------------------

def commit_subject(commit: str, root: Path | None = None) -> str | None:
    """The subject line of the records' commit from git (asked in the results dir when it lies in a
    checkout, else here), None where git cannot tell (no checkout, "nogit", an unknown commit)."""
    from fraudft.results.store import _git

    rev = commit.split("-", 1)[0]  # a folder such as <commit>-dirty-<hash> names its commit first
    if not rev or rev == "nogit":
        return None
    cwd = root if root is not None and Path(root).is_dir() and _git("rev-parse", "--git-dir", cwd=Path(root)) else None
    return _git("log", "-1", "--format=%s", f"{rev}^{{commit}}", "--", cwd=cwd) or None


def gate_verdict(verdicts: dict[str, list], records: list[RunRecord]) -> dict:
    """{"passed": bool, "text": one line, "failed": [lines]}: the bench's gate over these records, every
    expectation (verdicts, {recipe: [Verdict]}) and every run (a failed run fails its arm test)."""
    found = [v for vs in verdicts.values() for v in vs]
    failed = [v.summary() for v in found if v.status == "fail"]
    unjudged = [f"{v.arm} {v.expectation}: not judged ({v.why})" for v in found if v.status == "not judged"]
    runs = [f"run {r.recipe}/{r.arm} seed {r.seed} failed: {r.error.strip().splitlines()[0][:160] if r.error.strip() else 'no error kept'}"
            for r in records if r.status == "failed"]
    if not found and not runs:
        return {"passed": None, "text": "no expectations in these records (nothing to gate)", "failed": []}
    passed = not failed and not unjudged and not runs
    parts = ([f"{sum(v.status == 'pass' for v in found)} of {len(found)} expectations passed"] if found else [])
    parts += [f"{len(unjudged)} not judged"] if unjudged else []
    parts += [f"{len(runs)} run(s) failed"] if runs else []
    text = (f"gate passed: all {len(found)} expectations passed and every run succeeded" if passed else
            "gate FAILED: " + ", ".join(parts))
    return {"passed": passed, "text": text, "failed": failed + unjudged + runs}


# --- audit and environment ----------------------------------------------------------------------

def audit_sections(records: list[RunRecord]) -> dict:
    """The audit summaries the records keep (written by the experiment layer's splits.audit_summary: worst level,
    counts, one line per finding), one per distinct summary with the arms that share it, and the
    arms whose records keep none."""
    distinct: dict[str, dict] = {}
    missing = []
    for r in records:
        if not isinstance(r.audit, dict):
            missing.append(f"{r.recipe}/{r.arm} seed{r.seed}")
            continue
        key = json.dumps(r.audit, sort_keys=True, ensure_ascii=False)
        entry = distinct.setdefault(key, {"audit": r.audit, "arms": []})
        entry["arms"].append(f"{r.recipe}/{r.arm}")
    out = []
    for entry in distinct.values():
        findings = [str(f) for f in entry["audit"].get("findings") or []]
        out.append({"worst_level": entry["audit"].get("worst_level", "?"), "counts": entry["audit"].get("counts") or {},
                    "arms": sorted(set(entry["arms"]), key=entry["arms"].index),
                    "serious": [f for f in findings if not f.startswith("[info]")], "findings": findings})
    return {"audits": out, "missing": missing}


def environments(records: list[RunRecord]) -> list[dict]:
    """Distinct (device, python, CUDA, library versions) of the records' meta_info, with their arms."""
    distinct: dict[str, dict] = {}
    for r in records:
        meta = r.meta_info or {}
        env = {"device": meta.get("device") or r.device or "not recorded", "python": meta.get("python") or "not recorded",
               "cuda": meta.get("cuda"), "libraries": meta.get("libraries") or {}}
        entry = distinct.setdefault(json.dumps(env, sort_keys=True), {**env, "arms": []})
        entry["arms"].append(f"{r.recipe}/{r.arm} seed{r.seed}")
    return list(distinct.values())


def extra_context(records: list[RunRecord], n_resamples: int | None = None) -> dict:
    """The out-of-distribution table (table.extra_rows: in-domain beside each --extra-test set)."""
    columns, rows = extra_rows(records, n_resamples)
    return {"title": EXTRA_TITLE, "columns": columns, "rows": [{"arm": row[1], "cells": row} for row in rows]}


# --- history --------------------------------------------------------------------------------------

def history_section(root: Path | None, recipes: list[str], metrics: list[str] | None = None,
                    last: int | None = HISTORY_LAST, n_resamples: int | None = None, rev: str = "HEAD",
                    colors: dict[str, str] | None = None) -> dict:
    """{"charts": [(recipe, arm, div)], "config_changes": [(recipe, arm, commit, "config changed: ...")],
    "unavailable": why or None} from fraudft.results.history.history, per metric of `metrics` (default:
    the history view's, fraudft.results.views), one chart per arm: a step across a config change
    (fraudft.results.config_diff) is listed with its fields, not tested as the same arm."""
    if root is None:
        return {"charts": [], "config_changes": [], "unavailable": "no results dir given"}
    from fraudft.core.errors import UsageError
    from fraudft.results.config_diff import describe
    from fraudft.results.history import history

    charts, changes = [], {}
    for metric in view_metrics("history", metrics, "--metric"):
        for recipe in recipes:
            try:
                found = history(root, metric=metric, last=last, recipe=recipe, n_resamples=n_resamples,
                                rev=rev)  # the history up to the report's commit
            except UsageError as err:  # e.g. the results dir is not in a git checkout: say so on the page
                return {"charts": [], "config_changes": [], "unavailable": f"history unavailable: {err}"}
            frame = found.frame
            for arm in dict.fromkeys(frame["arm"]):
                charts.append((recipe, arm, figures.figure_div(figures.history(frame, recipe, arm, metric,
                                                                               (colors or {}).get(arm)))))
            for (commit, r, arm), fields in found.config_changes.items():  # the same for every metric
                changes[(r, arm, commit)] = describe(fields)
    return {"charts": charts, "config_changes": [(r, arm, commit, text) for (r, arm, commit), text in changes.items()],
            "unavailable": None if charts else "history unavailable (no commits with records)"}


# --- the page -----------------------------------------------------------------------------------

def _divs(make, *args) -> list[str]:
    fig = make(*args)
    return [] if fig is None else [figures.figure_div(fig)]


def report_context(records: list[RunRecord], commit: str, root: Path | None = None, summaries: list[dict] | None = None,
                   verdicts: dict[str, list] | None = None, robustness: list[dict] | None = None,
                   n_resamples: int | None = None, history_last: int | None = HISTORY_LAST,
                   metrics: list[str] | None = None) -> dict:
    """What the template renders; `metrics` (--metric) the metrics of the per-arm table and of the
    history charts, by default the report and history views' (fraudft.results.views). `summaries`
    (table.summarize_arms), `verdicts` ({recipe: [Verdict]}, fraudft.results.expectations.judge_all:
    the expectations each record ran with) and `robustness` (robustness_rows) when already computed:
    `pytest bench` passes those of its terminal summary; otherwise they are computed here."""

    records = sort_records(records)
    recipes = list(dict.fromkeys(r.recipe for r in records))
    summaries = summarize_arms(records, n_resamples) if summaries is None else summaries
    if verdicts is None:
        verdicts = {recipe: judge_all([r for r in records if r.recipe == recipe], n_resamples=n_resamples)
                    for recipe in recipes}
    robustness = robustness_rows(records, n_resamples) if robustness is None else robustness
    found = findings(records, summaries, robustness)
    sweeps = sweep_summaries(records, n_resamples=n_resamples)
    dates = sorted(d for d in (r.run_info.get("date") for r in records) if d)
    arms = list(dict.fromkeys(arm for _, arm in group_runs(records)))
    colors = figures.arm_colors(arms)  # one colour per arm, the same in every figure
    plots = {recipe: {"bars": _divs(figures.precision_recall_bars, summaries, recipe),
                      "pr": _divs(figures.pr_curves, records, recipe, colors),
                      "reliability": _divs(figures.reliability, records, recipe, 10, colors),
                      "loss": _divs(figures.loss_curves, records, recipe, colors)} for recipe in recipes}
    return {
        "commit": commit, "n_records": len(records), "recipes": recipes,
        "headline": {"subject": commit_subject(commit, root), "gate": gate_verdict(verdicts, records),
                     "findings": [{"what": f.what, "fix": f.fix, "level": f.level} for f in found]},
        "dates": (dates[0], dates[-1]) if dates else None, "dirty": any(r.dirty for r in records),
        "arms": arms, "arm_colors": colors,
        "summary": summary_table(summaries, verdicts, metrics), "verdicts": verdict_rows(verdicts),
        "runs": runs_table(records), "plots": plots,
        "sweeps": [{"title": f"{s['recipe']}: {sweep_kind(s['sweep'])}, {s['trend']['metric']} (95% interval)",
                    "trend": trend_line(s["trend"], len(sweeps)), "rows": sweep_rows(s)} for s in sweeps],
        "sweep_columns": sweep_columns(), "sweep_plot": _divs(figures.alpha_sweeps, sweeps),
        "robustness": {"columns": ROBUSTNESS_COLUMNS,
                       "rows": [{"arm": row[1], "cells": row} for row in robustness_table_rows(robustness)]},
        "audit": audit_sections(records), "environments": environments(records),
        "extra": extra_context(records, n_resamples),
        "history": history_section(root, recipes, metrics, last=history_last, n_resamples=n_resamples,
                                   rev=commit if commit != "nogit" else "HEAD", colors=colors),
        "history_metric": ", ".join(view_metrics("history", metrics, "--metric")), "history_last": history_last,
    }


def render_report(context: dict) -> str:
    """The page (HTML text) of a report_context, plotly.js inlined once."""
    import jinja2
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        **context, plotlyjs=Markup(get_plotlyjs()))


def write_report(records: list[RunRecord], commit: str, out: Path, root: Path | None = None, **context) -> Path:
    """Render the page of these records (report_context's keywords) and write it to `out`; return the path."""
    out = Path(out)
    html = render_report(report_context(records, commit, root=root, **context))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
