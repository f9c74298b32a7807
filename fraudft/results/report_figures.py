"""Interactive plotly figures of a commit's records, for the HTML report (fraudft.results.report).

    from fraudft.results import report_figures as rf
    rf.pr_curves(records), rf.reliability(records), rf.loss_curves(records), rf.precision_recall_bars(summaries),
    rf.alpha_sweeps(sweep_summaries), rf.history(frame, recipe, arm)   # plotly Figure, or None when nothing to draw
    rf.figure_div(fig)   # the figure as an HTML <div> and its script, without plotly.js (the page inlines it once)

The same figures as fraudft.results.plot's PNGs, with hover values. Every trace of an arm carries
`legendgroup = arm`, which the page's arm filter uses to hide it. Curves are thinned to at most
MAX_POINTS points each so that a page of 15+ arms x 2,000 test examples stays small.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fraudft.results.record import RunRecord
from fraudft.results.store import group_runs
from fraudft.results.sweep import sweep_kind

MAX_POINTS = 150  # per curve: enough for the shape on a screen, far fewer than 2,000 test examples
HEIGHT = 460
COLORS = {"precision": "#3b75af", "recall": "#ef8636", "up": "#1a7f37", "down": "#c53a32"}


def _go():
    import plotly.graph_objects as go  # here: reading records needs no plotly

    return go


def thin(*arrays: np.ndarray, max_points: int = MAX_POINTS) -> list[np.ndarray]:
    """The arrays (same length n) at most `max_points` evenly spaced indices, first and last kept."""
    n = len(arrays[0])
    if n <= max_points:
        return [np.asarray(a) for a in arrays]
    index = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return [np.asarray(a)[index] for a in arrays]


def _layout(fig, title: str, x: str, y: str, **extra):
    layout = {"title": {"text": title, "font": {"size": 14}}, "height": HEIGHT, "template": "plotly_white",
              "margin": {"l": 60, "r": 20, "t": 50, "b": 50}, "legend": {"font": {"size": 10}}, "hovermode": "closest"}
    fig.update_layout(**{**layout, **extra})
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y)
    return fig


def scored_runs(records: list[RunRecord]) -> dict[str, list[tuple[str, RunRecord]]]:
    """{recipe: [(arm, its first successful run with P(fraud) scores)]}, in table order (as plot.py)."""
    out: dict[str, list[tuple[str, RunRecord]]] = {}
    for (recipe, arm), runs in group_runs(records).items():
        scored = [r for r in runs if r.ok and r.test.scores is not None]
        if scored:
            out.setdefault(recipe, []).append((arm, scored[0]))
    return out


def pr_curves(records: list[RunRecord], recipe: str):
    """Every arm's precision-recall curve of one recipe (the first successful seed's test scores), its
    average precision in the legend, the eval-chosen operating point as a dot. None without scores."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    arms = scored_runs(records).get(recipe)
    if not arms:
        return None
    go = _go()
    fig = go.Figure()
    for arm, r in arms:
        test = r.test
        precision, recall, thresholds = precision_recall_curve(test.labels, test.scores)
        thresholds = np.append(thresholds, np.nan)  # the last point (recall 0) has no threshold
        recall, precision, thresholds = thin(recall, precision, thresholds)
        ap = average_precision_score(test.labels, test.scores) if any(test.labels) else float("nan")
        fig.add_scatter(x=recall, y=precision, customdata=thresholds, mode="lines", line={"shape": "hv", "width": 1.4},
                        name=f"{arm} (AP {ap:.2f})", legendgroup=arm,
                        hovertemplate=f"{arm}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}<br>threshold %{{customdata:.3f}}<extra></extra>")
        point = test.operating_point
        if point and point.get("test") and point["test"].get("precision") is not None:
            fig.add_scatter(x=[point["test"]["recall"]], y=[point["test"]["precision"]], mode="markers",
                            marker={"size": 9, "line": {"width": 1, "color": "#000"}}, legendgroup=arm, showlegend=False,
                            name=f"{arm} operating point",
                            hovertemplate=f"{arm}: eval-chosen threshold {point['threshold']:.3g}<br>recall %{{x:.3f}}"
                                          "<br>precision %{y:.3f}<extra></extra>")
    return _layout(fig, f"{recipe}: PR curves (test split; dots: eval-chosen threshold)",
                   "recall", "precision", xaxis_range=[0, 1.01], yaxis_range=[0, 1.01])


def reliability(records: list[RunRecord], recipe: str, bins: int = 10):
    """Observed fraud rate against mean P(fraud) in `bins` equal-width bins, per arm (first successful
    seed), with the diagonal of a calibrated model. None without scores."""
    from sklearn.calibration import calibration_curve

    arms = scored_runs(records).get(recipe)
    if not arms:
        return None
    go = _go()
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#777"}, name="calibrated",
                    hoverinfo="skip")
    for arm, r in arms:
        observed, predicted = calibration_curve(r.test.labels, r.test.scores, n_bins=bins, strategy="uniform")
        fig.add_scatter(x=predicted, y=observed, mode="lines+markers", name=arm, legendgroup=arm,
                        hovertemplate=f"{arm}<br>mean P(fraud) %{{x:.3f}}<br>fraud rate %{{y:.3f}}<extra></extra>")
    return _layout(fig, f"{recipe}: reliability diagram (test split, {bins} bins)", "mean P(fraud) in the bin",
                   "fraud rate in the bin", xaxis_range=[0, 1], yaxis_range=[0, 1])


def precision_recall_bars(summaries: list[dict], recipe: str):
    """Per arm: mean precision and recall over its successful seeds with the 95% interval (the
    summaries of fraudft.results.table.summarize_arm); an undefined metric has no bar and says why."""
    go = _go()
    ours = [s for s in summaries if s["backend"] == recipe]
    fig = go.Figure()
    for metric in ("precision", "recall"):
        xs, ys, plus, minus, text = [], [], [], [], []
        for s in ours:
            m = s["metrics"].get(metric) or {}
            value = None if m.get("undefined") else m.get("mean")
            xs.append(s["arm"])
            ys.append(value)
            low, high = (value, value) if value is None or m.get("low") is None else (m["low"], m["high"])
            plus.append(None if value is None else high - value)
            minus.append(None if value is None else value - low)
            text.append(f"undefined: {m['undefined']}" if m.get("undefined") else
                        "failed" if s["ok"] == 0 else f"[{low:.3f}, {high:.3f}]" if value is not None else "")
        fig.add_bar(x=xs, y=ys, name=metric, marker_color=COLORS[metric], text=text, textposition="none",
                    error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
                    hovertemplate=f"%{{x}}<br>{metric} %{{y:.3f}} %{{text}}<extra></extra>")
    return _layout(fig, f"{recipe}: precision and recall, mean over seeds with 95% interval",
                   "arm", "test set", barmode="group", yaxis_range=[0, 1.05])


def loss_curves(records: list[RunRecord], recipe: str):
    """Training loss (solid) and eval loss (dashed) against the step, per arm and seed; None without
    training logs (train_info.log_history)."""
    go = _go()
    fig, positive = go.Figure(), True
    for (backend, arm), runs in group_runs(records).items():
        if backend != recipe:
            continue
        for r in runs:
            for key, dash in (("loss", "solid"), ("eval_loss", "dash")):
                points = [(h["step"], h[key]) for h in r.train_info.get("log_history") or []
                          if h.get(key) is not None and "step" in h]
                if not points:
                    continue
                steps, values = thin(*map(np.array, zip(*points)))
                positive &= bool(min(values) > 0)
                which = "train" if key == "loss" else "eval"
                fig.add_scatter(x=steps, y=values, mode="lines+markers" if dash == "dash" else "lines",
                                line={"dash": dash, "width": 1.3}, name=f"{arm} seed{r.seed} {which}", legendgroup=arm,
                                hovertemplate=f"{arm} seed{r.seed} {which}<br>step %{{x}}<br>loss %{{y:.4f}}<extra></extra>")
    if not fig.data:
        return None
    return _layout(fig, f"{recipe}: training (solid) and eval (dashed) loss", "step", "loss",
                   yaxis_type="log" if positive else "linear")


def alpha_sweeps(summaries: list[dict]):
    """The sweep metric with its 95% interval against alpha/r (log2 axis), one line per sweep (the
    output of fraudft.results.sweep.sweep_summaries), P(best) in the hover; None without a sweep."""
    if not summaries:
        return None
    go = _go()
    fig = go.Figure()
    metric = summaries[0]["trend"]["metric"]  # the sweep view's metric (fraudft.results.views)
    for summary in summaries:
        points = [p for p in summary["points"] if p["value"] is not None]
        trend = summary["trend"]
        slope = ("" if trend["slope"] is None else
                 f", slope {trend['slope']:+.3f}/doubling, {trend['verdict']}")
        fig.add_scatter(
            x=[p["alpha_r"] for p in points], y=[p["value"] for p in points], mode="lines+markers",
            name=f"{summary['recipe']}: {sweep_kind(summary['sweep'])}{slope}",
            customdata=[[p["arm"], "—" if p.get("p_best") is None else f"{p['p_best']:.2f}"] for p in points],
            error_y={"type": "data", "visible": True,
                     "array": [0 if p["high"] is None else p["high"] - p["value"] for p in points],
                     "arrayminus": [0 if p["low"] is None else p["value"] - p["low"] for p in points]},
            hovertemplate="%{customdata[0]}<br>alpha/r %{x:g}<br>" + metric
                          + " %{y:.3f}<br>P(best) %{customdata[1]}<extra></extra>")
    return _layout(fig, f"alpha/r sweeps: {metric} with 95% interval", "alpha / r (LoRA scale)",
                   f"{metric} on the test set", legend={"orientation": "h", "y": -0.25},
                   xaxis={"type": "log", "dtick": math.log10(2)})


def history(frame: pd.DataFrame, recipe: str, arm: str, metric: str):
    """One arm's metric with its interval over commits (the rows of history_frame for recipe and arm,
    in `position` order), confirmed changes as green / red triangles, failed and missing commits marked."""
    go = _go()
    rows = frame[(frame["recipe"] == recipe) & (frame["arm"] == arm)].sort_values("position")
    commits = [str(c) for c in rows["commit"]]
    fig = go.Figure()
    ok = rows[rows["status"] == "ok"]
    hover = [f"{c} {str(s)[:60]}<br>{metric} {v:.3f} [{lo:.3f}, {hi:.3f}]" + (f"<br>{ch}, Holm p {p:.3g}" if ch else "")
             + (" (borderline)" if isinstance(b, (bool, np.bool_)) and b else "")
             for c, s, v, lo, hi, ch, p, b in zip(ok["commit"], ok["subject"], ok["value"], ok["low"], ok["high"],
                                                 ok["change"], ok["p_adjusted"], ok["borderline"])]
    fig.add_scatter(x=[str(c) for c in ok["commit"]], y=ok["value"], mode="lines+markers", name=arm, legendgroup=arm,
                    hovertext=hover, hoverinfo="text",
                    error_y={"type": "data", "visible": True, "array": ok["high"] - ok["value"],
                             "arrayminus": ok["value"] - ok["low"]})
    for change, symbol in (("up", "triangle-up"), ("down", "triangle-down")):
        marked = ok[ok["change"] == change]
        if len(marked):
            fig.add_scatter(x=[str(c) for c in marked["commit"]], y=marked["value"], mode="markers", legendgroup=arm,
                            marker={"symbol": symbol, "size": 14, "color": COLORS[change]}, hoverinfo="skip",
                            name=f"confirmed {change}")
    for commit, status in zip(rows["commit"], rows["status"]):
        if status != "ok":  # written at the foot of the plot (paper coordinates): no value to place it at
            fig.add_annotation(x=str(commit), y=0.03, yref="paper", text=status, showarrow=False,
                               font={"size": 11, "color": "#b00020" if status == "failed" else "#777"})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=commits)
    return _layout(fig, f"{recipe} / {arm}", "commit", metric, height=300, showlegend=False)


def figure_div(fig) -> str:
    """The figure as an HTML fragment (a <div> and the script drawing it), without plotly.js."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})
