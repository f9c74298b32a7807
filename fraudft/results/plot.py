"""PNG charts of a commit's records.

    fraudft results plot [REV] --out DIR       precision_recall.png, pr_curves.png, reliability.png,
                                               loss_curves.png, alpha_r.png
    from fraudft.results.plot import plot_records

Bars are means over successful seeds with the arm's 95% interval (fraudft.results.table's
summary); an undefined metric is marked, not drawn as 0. The PR curves and the reliability diagram
draw every arm that recorded P(fraud) scores (seed 0's test evaluation), from scikit-learn's
precision_recall_curve and calibration_curve.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fraudft.results.record import RunRecord
from fraudft.results.store import group_runs
from fraudft.results.sweep import sweep_summaries
from fraudft.results.table import summarize_arm


def precision_recall_figure(records: list[RunRecord], commit: str, n_resamples: int | None = None):
    """Per arm, bars of mean precision and recall with 95% interval error bars; one panel per recipe."""
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
                m = s["metrics"].get(metric) or {}
                value = m.get("mean")
                if m.get("undefined"):
                    ax.text(x[i] + offset, 0.02, f"undefined: {m['undefined']}", rotation=90, ha="center",
                            va="bottom", fontsize=7, color="#555555")
                if value is None or m.get("undefined"):
                    continue
                low, high = (value, value) if m["low"] is None else (m["low"], m["high"])
                yerr = [[max(value - low, 0)], [max(high - value, 0)]]
                ax.bar(x[i] + offset, value, 0.38, color=colors[metric], yerr=yerr, capsize=3,
                       error_kw={"elinewidth": 1}, label=None if labelled else metric)
                labelled = True
                ax.text(x[i] + offset, high + 0.01, f"{value:.2f}", ha="center", va="bottom", fontsize=7)
                seeds = m["values"]
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
        ax.set_title(f"{backend}\nerror bars: 95% interval (test examples and seeds resampled)", fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", ncol=2, fontsize=9)
    fig.suptitle(f"precision and recall with 95% intervals, commit {commit}")
    return fig


def plot_precision_recall(records: list[RunRecord], commit: str, path: Path, n_resamples: int | None = None) -> Path:
    """precision_recall_figure written to path as PNG."""
    precision_recall_figure(records, commit, n_resamples).savefig(path, dpi=110)
    return path


def _loss_points(history: list[dict], key: str) -> tuple[list, list]:
    points = [(h["step"], h[key]) for h in history if key in h and "step" in h and h[key] is not None]
    return [p[0] for p in points], [p[1] for p in points]


def plot_loss_curves(records: list[RunRecord], commit: str, path: Path) -> Path:
    """Training loss (solid) and eval loss (dashed) vs step, one panel per (recipe, arm), one color per seed."""
    from matplotlib.figure import Figure

    groups = {key: [r for r in runs if r.train_info.get("log_history")]
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
            history = r.train_info["log_history"]
            color = palette[j % len(palette)]
            for key, style in (("loss", "-"), ("eval_loss", "--o")):
                steps, values = _loss_points(history, key)
                if steps:
                    positive &= min(values) > 0
                    ax.plot(steps, values, style, color=color, ms=3, lw=1.2,
                            label=f"{'train' if key == 'loss' else 'eval'} seed{r.seed}")
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


def _scored(records: list[RunRecord]) -> dict[str, list[tuple[str, RunRecord]]]:
    """{recipe: [(arm, its first successful run with scores)]}, in table order."""
    out: dict[str, list[tuple[str, RunRecord]]] = {}
    for (backend, arm), runs in group_runs(records).items():
        scored = [r for r in runs if r.ok and r.test.scores is not None]
        if scored:
            out.setdefault(backend, []).append((arm, scored[0]))
    return out


def _score_panels(records: list[RunRecord], title: str):
    from matplotlib.figure import Figure

    scored = _scored(records)
    fig = Figure(figsize=(6.5 * max(len(scored), 1), 5.5), layout="constrained")
    axes = fig.subplots(1, max(len(scored), 1), squeeze=False)[0]
    if not scored:
        axes[0].text(0.5, 0.5, "no P(fraud) scores in these records", ha="center", va="center",
                     transform=axes[0].transAxes)
        axes[0].set_axis_off()
    fig.suptitle(title)
    return fig, list(zip(axes, scored.items()))


def plot_pr_curves(records: list[RunRecord], commit: str, path: Path) -> Path:
    """Every arm's precision-recall curve on one panel per recipe (seed 0's test scores), with its
    average precision in the legend and the eval-chosen operating point marked."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, panels = _score_panels(records, f"precision-recall curves (test split), commit {commit}")
    for ax, (backend, arms) in panels:
        for arm, r in arms:
            test = r.test
            precision, recall, _ = precision_recall_curve(test.labels, test.scores)
            ap = average_precision_score(test.labels, test.scores) if any(test.labels) else float("nan")
            (line,) = ax.plot(recall, precision, lw=1.2, drawstyle="steps-post", label=f"{arm} (AP {ap:.2f})")
            point = test.operating_point
            if point and point.get("test") and point["test"].get("precision") is not None:
                ax.plot(point["test"]["recall"], point["test"]["precision"], "o", color=line.get_color(), ms=5)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        ax.set_title(f"{backend} (dots: the eval-chosen operating point)", fontsize=10)
        ax.legend(fontsize=7, loc="lower left")
    fig.savefig(path, dpi=110)
    return path


def plot_reliability(records: list[RunRecord], commit: str, path: Path, bins: int = 10) -> Path:
    """The reliability diagram: observed fraud rate against mean P(fraud) in equal-width bins,
    every arm with scores (seed 0), the diagonal for a calibrated model."""
    from sklearn.calibration import calibration_curve

    fig, panels = _score_panels(records, f"reliability diagram (test split, {bins} bins), commit {commit}")
    for ax, (backend, arms) in panels:
        ax.plot([0, 1], [0, 1], ":", color="#777777", label="calibrated")
        for arm, r in arms:
            observed, predicted = calibration_curve(r.test.labels, r.test.scores, n_bins=bins, strategy="uniform")
            ax.plot(predicted, observed, "o-", ms=3, lw=1.1, label=arm)
        ax.set_xlabel("mean P(fraud) in the bin")
        ax.set_ylabel("fraud rate in the bin")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_title(backend, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.savefig(path, dpi=110)
    return path


def plot_records(records: list[RunRecord], commit: str, out: Path, n_resamples: int | None = None) -> list[Path]:
    """Write precision_recall.png, pr_curves.png, reliability.png, loss_curves.png and (where the
    records hold a sweep) alpha_r.png into out; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [plot_precision_recall(records, commit, out / "precision_recall.png", n_resamples),
             plot_pr_curves(records, commit, out / "pr_curves.png"),
             plot_reliability(records, commit, out / "reliability.png"),
             plot_loss_curves(records, commit, out / "loss_curves.png"),
             plot_alpha_sweeps(records, commit, out / "alpha_r.png", n_resamples)]
    return [p for p in paths if p is not None]


def plot_alpha_sweeps(records: list[RunRecord], commit: str, path: Path, n_resamples: int | None = None) -> Path | None:
    """The metric with its 95% interval against alpha/r (log scale), one line per sweep, with the
    sweep's fitted slope per doubling (dashed; its interval and verdict in the legend, Holm-adjusted
    across sweeps) and each ratio's P(best) in its annotation; None if no sweep."""
    from matplotlib.figure import (
        Figure,  # no pyplot: no GUI backend, no global figure state
    )

    summaries = sweep_summaries(records, n_resamples=n_resamples)
    if not summaries:
        return None
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.subplots()
    for summary in summaries:
        points, trend = [p for p in summary["points"] if p["value"] is not None], summary["trend"]
        x = [p["alpha_r"] for p in points]
        y = [p["value"] for p in points]
        errors = [[v - (v if p["low"] is None else p["low"]) for v, p in zip(y, points)],
                  [(v if p["high"] is None else p["high"]) - v for v, p in zip(y, points)]]
        name = f"{summary['recipe']}: {summary['sweep'][0][1]} .. {summary['sweep'][-1][1]}"
        bars = ax.errorbar(x, y, yerr=errors, marker="o", capsize=4, label=name)
        for p in points:
            best = "" if p["p_best"] is None else f"\nP(best) {p['p_best']:.2f}"
            ax.annotate(p["arm"] + best, (p["alpha_r"], p["value"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
        if trend["slope"] is not None and points:
            # the least-squares line through the ratios' values: it passes through their means
            log_x = np.log2(x)
            at = np.array([min(log_x), max(log_x)])
            fitted = np.mean(y) + trend["slope"] * (at - np.mean(log_x))
            interval = "" if trend["low"] is None else f" [{trend['low']:+.3f}, {trend['high']:+.3f}]"
            ax.plot(2.0 ** at, fitted, "--", color=bars[0].get_color(), lw=1,
                    label=f"fit: {trend['slope']:+.3f} per doubling{interval}, {trend['verdict']}"
                          + (" (Holm across sweeps)" if len(summaries) > 1 else ""))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("alpha / r (LoRA scale)")
    ax.set_ylabel(f"{summaries[0]['trend']['metric']} on the test set (95% interval)")
    ax.set_title(f"alpha/r sweep, {commit}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
