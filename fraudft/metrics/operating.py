"""The operating point: a decision threshold on P(fraud) chosen on the eval split, applied to the test split.

    from fraudft.metrics.operating import ThresholdRule, operating_point
    rule = ThresholdRule.parse("precision>=0.9")      # or "max_f1"
    point = operating_point(rule, eval_labels, eval_scores, test_labels, test_scores)
    point["threshold"], point["test"]["recall"]        # None and point["undefined"] when it cannot be met

A fraud team does not run a classifier at 0.5: it runs it where its reviewers can handle the false
alarms. Two rules, named in a recipe's `[decision] threshold_rule`:

- `max_f1`: the threshold of highest F1 on the eval split;
- `precision>=P`: the lowest threshold whose eval precision reaches P (the most recall at that
  precision). When no threshold reaches P on the eval split the point is undefined, with the
  reason, never 0.

The threshold is chosen on eval labels only (never on the test split, whose figures it then gives).
Candidate thresholds and their precision/recall come from scikit-learn's precision_recall_curve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

RULE = re.compile(r"^(?:(?P<max_f1>max_f1)|precision>=(?P<precision>0?\.\d+|1(?:\.0*)?))$")


@dataclass(frozen=True)
class ThresholdRule:
    """`max_f1`, or the lowest threshold reaching `target_precision` on the eval split."""

    kind: str = "max_f1"  # "max_f1" | "target_precision"
    target_precision: float | None = None

    def __post_init__(self):
        if self.kind == "max_f1" and self.target_precision is None:
            return
        if self.kind == "target_precision" and self.target_precision is not None and 0 < self.target_precision <= 1:
            return
        raise ValueError(f"threshold_rule: got kind {self.kind!r} with target {self.target_precision!r}, "
                         "expected 'max_f1' or 'precision>=P' with P in (0, 1]")

    @classmethod
    def parse(cls, text: str) -> ThresholdRule:
        """From `max_f1` or `precision>=0.9`. Raises ValueError naming what was expected."""
        match = RULE.match(str(text).replace(" ", ""))
        if match is None:
            raise ValueError(f"threshold_rule: got {text!r}, expected 'max_f1' or 'precision>=P' (e.g. 'precision>=0.9')")
        if match["max_f1"]:
            return cls()
        return cls("target_precision", float(match["precision"]))

    def __str__(self) -> str:
        return "max_f1" if self.kind == "max_f1" else f"precision>={self.target_precision:g}"


def choose_threshold(rule: ThresholdRule, labels, scores) -> tuple[float | None, str | None]:
    """(threshold, None), or (None, why) when the eval split cannot satisfy the rule.

    labels: (n,) 0/1; scores: (n,) P(fraud). A record is called fraud when its score >= threshold."""
    from sklearn.metrics import precision_recall_curve

    y, s = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    if y.size == 0 or y.min() == y.max():
        return None, "the eval split has labels of one class"
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point (recall 0) has no threshold
    if rule.kind == "max_f1":
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        return float(thresholds[int(np.argmax(f1))]), None  # ties: the lowest threshold (most recall)
    reached = np.flatnonzero(precision >= rule.target_precision - 1e-12)
    if reached.size == 0:
        return None, f"no threshold reaches precision {rule.target_precision:g} on the eval split (best {precision.max():.3f})"
    return float(thresholds[reached[0]]), None  # thresholds ascend: the first is the lowest


def _figures(labels, predictions) -> dict:
    from fraudft.metrics.registry import metric_names
    from fraudft.metrics.stats import metric_value, undefined_reason

    out = {}
    for name in metric_names("predictions"):  # every prediction metric of the registry
        value = metric_value(name, labels, predictions)
        out[name] = value
        if value is None:
            out.setdefault("undefined", {})[name] = undefined_reason(name, labels, predictions)
    out["flagged"] = int(np.sum(predictions))
    return out


def operating_point(rule: ThresholdRule, eval_labels, eval_scores, test_labels, test_scores) -> dict:
    """{"rule", "threshold", "undefined", "eval", "test"}: the threshold chosen on the eval split and
    every prediction metric of the registry (precision, recall, F1, MCC, ...) and the number flagged
    at it on both splits (None where undefined, with the reason in "undefined")."""
    threshold, why = choose_threshold(rule, eval_labels, eval_scores)
    out = {"rule": str(rule), "threshold": threshold, "undefined": why, "eval": None, "test": None}
    if threshold is not None:
        for split, labels, scores in (("eval", eval_labels, eval_scores), ("test", test_labels, test_scores)):
            out[split] = _figures(np.asarray(labels).astype(int), (np.asarray(scores) >= threshold).astype(int))
    return out
