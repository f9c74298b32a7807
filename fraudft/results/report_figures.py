"""Interactive plotly figures of a commit's records, for the HTML report (fraudft.results.report).

    from fraudft.results import report_figures as rf
    colors = rf.arm_colors(arms)   # one colour per arm, the same in every figure (colors= of each)
    rf.pr_curves(records, recipe), rf.reliability(records, recipe), rf.loss_curves(records, recipe), rf.precision_recall_bars(summaries, recipe),
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
FEW_LOSS_POINTS = 5  # a loss curve with fewer logged points says so in its title


def palette() -> list[str]:
    """Distinct qualitative colours, dark first: plotly's Dark24 then Alphabet (50 in all)."""
    from plotly.colors import qualitative

    return list(dict.fromkeys(qualitative.Dark24 + qualitative.Alphabet))


def arm_colors(arms: list[str]) -> dict[str, str]:
    """{arm: colour}, one colour per arm in the order given (the report's arm order), the same in every
    figure; past the palette's 50 colours they repeat."""
    colors = palette()
    return {arm: colors[i % len(colors)] for i, arm in enumerate(dict.fromkeys(arms))}


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


TOOLBAR_PX = 30  # plotly's toolbar (modebar) row at the top right of a figure: titles start below it


def _layout(fig, title: str, x: str, y: str, **extra):
    height = extra.get("height", HEIGHT)
    layout = {"title": {"text": title, "font": {"size": 14}, "yref": "container", "yanchor": "top",
                        "y": 1 - TOOLBAR_PX / height},  # below the toolbar, not under its buttons
              "height": HEIGHT, "template": "plotly_white",
              "margin": {"l": 60, "r": 20, "t": TOOLBAR_PX + 50, "b": 50}, "legend": {"font": {"size": 10}},
              "hovermode": "closest"}
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


def pr_curves(records: list[RunRecord], recipe: str, colors: dict[str, str] | None = None):
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
        color = (colors or {}).get(arm)
        fig.add_scatter(x=recall, y=precision, customdata=thresholds, mode="lines",
                        line={"shape": "hv", "width": 1.4, "color": color},
                        name=f"{arm} (AP {ap:.2f})", legendgroup=arm,
                        hovertemplate=f"{arm}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}<br>threshold %{{customdata:.3f}}<extra></extra>")
        point = test.operating_point
        if point and point.get("test") and point["test"].get("precision") is not None:
            fig.add_scatter(x=[point["test"]["recall"]], y=[point["test"]["precision"]], mode="markers",
                            marker={"size": 9, "color": color, "line": {"width": 1, "color": "#000"}}, legendgroup=arm,
                            showlegend=False,
                            name=f"{arm} operating point",
                            hovertemplate=f"{arm}: eval-chosen threshold {point['threshold']:.3g}<br>recall %{{x:.3f}}"
                                          "<br>precision %{y:.3f}<extra></extra>")
    return _layout(fig, f"{recipe}: PR curves (test split; dots: eval-chosen threshold)",
                   "recall", "precision", xaxis_range=[0, 1.01], yaxis_range=[0, 1.01])


def reliability(records: list[RunRecord], recipe: str, bins: int = 10, colors: dict[str, str] | None = None):
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
                        line={"color": (colors or {}).get(arm)},
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


def loss_curves(records: list[RunRecord], recipe: str, colors: dict[str, str] | None = None):
    """Training loss (solid) and eval loss (dashed) against the step, per arm and seed (the arm's
    colour; seeds past the first fainter); None without training logs (train_info.log_history). Runs
    that logged fewer than FEW_LOSS_POINTS training losses are said so in the title (the Trainer logs
    every logging_steps, fraudft.engine.train: records of older commits logged twice a run)."""
    go = _go()
    fig, positive, fewest = go.Figure(), True, None
    for (backend, arm), runs in group_runs(records).items():
        if backend != recipe:
            continue
        for r in runs:
            for key, dash in (("loss", "solid"), ("eval_loss", "dash")):
                points = [(h["step"], h[key]) for h in r.train_info.get("log_history") or []
                          if h.get(key) is not None and "step" in h]
                if not points:
                    continue
                if key == "loss":
                    fewest = len(points) if fewest is None else min(fewest, len(points))
                steps, values = thin(*map(np.array, zip(*points)))
                positive &= bool(min(values) > 0)
                which = "train" if key == "loss" else "eval"
                few = key == "loss" and len(points) < FEW_LOSS_POINTS
                fig.add_scatter(x=steps, y=values, mode="lines+markers" if dash == "dash" or few else "lines",
                                line={"dash": dash, "width": 1.3, "color": (colors or {}).get(arm)},
                                opacity=1.0 if r.seed == runs[0].seed else 0.55,
                                name=f"{arm} seed{r.seed} {which}", legendgroup=arm,
                                hovertemplate=f"{arm} seed{r.seed} {which}<br>step %{{x}}<br>loss %{{y:.4f}}<extra></extra>")
    if not fig.data:
        return None
    few = (f"<br><sup>few points: only {fewest} training loss value(s) logged in a run (runs of older commits "
           "logged every eval_steps / 2 steps; a rerun logs more)</sup>"
           if fewest is not None and fewest < FEW_LOSS_POINTS else "")
    return _layout(fig, f"{recipe}: training (solid) and eval (dashed) loss{few}", "step", "loss",
                   yaxis_type="log" if positive else "linear")


def alpha_sweeps(summaries: list[dict]):
    """The sweep metric with its 95% interval against alpha/r (log2 axis), one line per sweep (the
    output of fraudft.results.sweep.sweep_summaries), P(best) in the hover; None without a sweep."""
    if not summaries:
        return None
    go = _go()
    fig = go.Figure()
    metric = summaries[0]["trend"]["metric"]  # the sweep view's metric (fraudft.results.views)
    colors = palette()
    for i, summary in enumerate(summaries):
        points = [p for p in summary["points"] if p["value"] is not None]
        trend = summary["trend"]
        slope = ("" if trend["slope"] is None else
                 f", slope {trend['slope']:+.3f}/doubling, {trend['verdict']}")
        color = colors[i % len(colors)]
        line = slope_line(points, trend["slope"])
        if line is not None:
            name = (f"fitted: {trend['slope']:+.3f} per doubling"
                    + ("" if trend["low"] is None else f" [{trend['low']:+.3f}, {trend['high']:+.3f}]"))
            fig.add_scatter(x=line[0], y=line[1], mode="lines", line={"dash": "dash", "width": 1.5, "color": color},
                            name=f"{summary['recipe']}: {name}", hoverinfo="name")
        fig.add_scatter(marker={"color": color}, line={"color": color},
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


def slope_line(points: list[dict], slope: float | None) -> tuple[list[float], list[float]] | None:
    """The sweep's fitted line over its ratios' span: the claim's least-squares slope per doubling
    (fraudft.results.sweep.sweep_trend) through the points' centroid on log2(alpha/r), where a
    least-squares line passes; None without a slope or with fewer than two points."""
    if slope is None or len(points) < 2:
        return None
    x = np.log2([p["alpha_r"] for p in points])
    y = np.array([p["value"] for p in points], dtype=float)
    ends = np.array([x.min(), x.max()])
    return [float(v) for v in 2.0 ** ends], [float(v) for v in y.mean() + slope * (ends - x.mean())]


def history(frame: pd.DataFrame, recipe: str, arm: str, metric: str, color: str | None = None):
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
                    line={"color": color},
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
