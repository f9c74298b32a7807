"""fraudft.metrics.operating: the threshold chosen on the eval split by a named rule, applied to the test split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score

from fraudft.metrics.operating import ThresholdRule, choose_threshold, operating_point

RNG = np.random.default_rng(0)
LABELS = RNG.integers(0, 2, 300)
SCORES = np.clip(0.35 * LABELS + 0.65 * RNG.random(300), 0, 1).round(3)  # ranks well, ties included


@pytest.mark.parametrize("text, rule", [("max_f1", ThresholdRule()), ("precision>=0.9", ThresholdRule("target_precision", 0.9)),
                                        ("precision >= 1", ThresholdRule("target_precision", 1.0))])
def test_rules_parse_and_print(text, rule):
    assert ThresholdRule.parse(text) == rule
    assert ThresholdRule.parse(str(rule)) == rule


@pytest.mark.parametrize("text", ["f1", "precision>=0", "precision>=1.5", "recall>=0.9", ""])
def test_a_bad_rule_names_what_was_expected(text):
    with pytest.raises(ValueError, match="expected 'max_f1' or 'precision>=P'"):
        ThresholdRule.parse(text)


def test_max_f1_is_the_best_f1_over_every_threshold():
    threshold, why = choose_threshold(ThresholdRule(), LABELS, SCORES)
    assert why is None
    best = max(f1_score(LABELS, SCORES >= t) for t in np.unique(SCORES))
    assert f1_score(LABELS, SCORES >= threshold) == pytest.approx(best)


def test_target_precision_takes_the_lowest_threshold_that_reaches_it():
    rule = ThresholdRule("target_precision", 0.8)
    threshold, why = choose_threshold(rule, LABELS, SCORES)
    assert why is None and precision_score(LABELS, SCORES >= threshold) >= 0.8
    lower = [t for t in np.unique(SCORES) if t < threshold]
    assert all(precision_score(LABELS, SCORES >= t, zero_division=0) < 0.8 for t in lower[-20:])


def test_an_unreachable_precision_is_undefined_with_the_reason_never_zero():
    labels, scores = np.array([0, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.1])  # the top score is a negative
    point = operating_point(ThresholdRule("target_precision", 0.99), labels, scores, labels, scores)
    assert point["threshold"] is None and point["test"] is None
    assert point["undefined"].startswith("no threshold reaches precision 0.99 on the eval split")


def test_the_point_is_chosen_on_eval_and_applied_to_test():
    eval_labels, eval_scores = LABELS[:150], SCORES[:150]
    test_labels, test_scores = LABELS[150:], SCORES[150:]
    point = operating_point(ThresholdRule(), eval_labels, eval_scores, test_labels, test_scores)
    threshold = choose_threshold(ThresholdRule(), eval_labels, eval_scores)[0]
    assert point["threshold"] == threshold and point["rule"] == "max_f1"
    predictions = test_scores >= threshold
    assert point["test"]["f1"] == pytest.approx(f1_score(test_labels, predictions))
    assert point["test"]["flagged"] == int(predictions.sum())


def test_one_class_eval_labels_are_undefined():
    point = operating_point(ThresholdRule(), [1, 1, 1], [0.2, 0.5, 0.9], [0, 1], [0.1, 0.9])
    assert point["threshold"] is None and "one class" in point["undefined"]
