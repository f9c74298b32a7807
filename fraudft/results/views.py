"""Which metrics each results view shows: the one place that names them.

    from fraudft.results.views import VIEWS, view_metrics
    view_metrics("compare")                        # ('f1', 'mcc', 'roc_auc')
    view_metrics("table")                          # every registered metric, in registration order
    view_metrics("history", ["f1", "brier"])       # the user's --metric choice instead, checked
    view_metrics("history", ["mc"], "--metric")    # UsageError: --metric: got 'mc', expected a metric,
                                                   #   one of precision, ... (did you mean mcc?)

Every name is a metric of the registry (fraudft.metrics) and is checked against it when a view is
read, so a misspelt name fails at once with the close matches; a view set to ALL shows every
registered metric, a metric registered later included. To show another metric in a view, edit its
entry here (or pass --metric to `fraudft results report` / `history`); nothing else lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from fraudft.metrics.registry import METRICS, get_metric

ALL = "all"  # every registered metric, in registration order

VIEWS: dict[str, str | tuple[str, ...]] = {
    # results table: per arm every metric with its interval (also the report's per-arm table)
    "table": ALL,
    "report": ALL,
    # results compare: the means shown per arm in its main table (every metric has its delta below)
    "compare": ("f1", "mcc", "roc_auc"),
    # compare's regression verdict is judged on the first: 0 for any constant answer, whatever the class balance
    "quality": ("mcc",),
    # the out-of-distribution section: in-domain beside each --extra-test set
    "extra": ("mcc", "f1"),
    # results history and the report's history charts (one chart per arm and metric)
    "history": ("mcc",),
    # the alpha/r sweeps (trend test, table and plot): the first
    "sweep": ("mcc",),
    # the operating-point cell of the per-run table: the test figures at the eval-chosen threshold
    "operating": ("precision", "recall", "f1"),
    # fraudft evaluate's first line (every other registered metric follows on the next)
    "evaluate": ("precision", "recall", "f1"),
    # fraudft grid's summary lines and pytest bench's extra_info: each run's point values
    "run": ("f1",),
    "bench": ("precision", "recall", "f1", "mcc"),
}

SHORT = {"precision": "P", "recall": "R", "f1": "F1"}  # short labels in narrow cells; others show whole


def view_metrics(view: str, chosen: Iterable[str] | None = None, option: str | None = None) -> tuple[str, ...]:
    """The metrics `view` shows: `chosen` (a user's --metric names) when given and non-empty, else the
    view's entry in VIEWS; each checked against the registry (UsageError naming `option`, the known
    names and close matches first). A KeyError for a view not in VIEWS (a bug)."""
    names = tuple(chosen or ())
    if not names:
        entry = VIEWS[view]
        names = tuple(METRICS) if entry == ALL else tuple(entry)
        option = option or f"views[{view!r}]"
    for name in names:
        get_metric(name, option)
    return tuple(dict.fromkeys(names))


def view_metric(view: str) -> str:
    """The first metric of `view`: the one a single-metric view (quality, sweep) judges by."""
    return view_metrics(view)[0]


def short_name(metric: str) -> str:
    """The metric's label in a narrow cell: P, R, F1, else its name."""
    return SHORT.get(metric, metric)
