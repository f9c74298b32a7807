"""The `generalizes` (an --extra-test set against the in-domain test split, unpaired) and `directional`
(P(fraud) must not fall on the records a directional set changed) expectations."""

from __future__ import annotations

import numpy as np
import pytest

from fraudft.experiment.arms import Arm
from fraudft.results.expectations import KINDS, Expectation, judge
from fraudft.modeling.lora import LoraSettings
from fraudft.results.record import Evaluation, RunRecord

RNG = np.random.default_rng(0)
N_HOME, N_AWAY = 600, 400
HOME = [int(y) for y in RNG.integers(0, 2, N_HOME)]
AWAY = [int(y) for y in RNG.integers(0, 2, N_AWAY)]


def answers(labels: list[int], wrong: int, seed: int = 0) -> list[int]:
    """labels with `wrong` of them (chosen by seed) answered wrongly."""
    flip = set(np.random.default_rng(seed).choice(len(labels), wrong, replace=False).tolist())
    return [1 - y if i in flip else y for i, y in enumerate(labels)]


def run(home_wrong: int, away_wrong: int | None, seed: int = 0, away_labels=None) -> RunRecord:
    evaluations = [Evaluation("test", HOME, answers(HOME, home_wrong, seed))]
    if away_wrong is not None:
        labels = away_labels or AWAY
        evaluations.append(Evaluation("extra:other", labels, answers(labels, away_wrong, seed + 100)))
    return RunRecord(arm="x", seed=seed, recipe="cpu-tiny", model="tiny", device="cpu", run_info={},
                     train_info={"status": "success"}, evaluations=evaluations)


G = Expectation("generalizes", on="other", metric="mcc", margin=0.1)
ARM_G = Arm("x", "x", LoraSettings(), expects=(G,))


def test_registered_and_described():
    assert {"generalizes", "directional"} <= set(KINDS)
    assert not KINDS["generalizes"].compares and not KINDS["directional"].compares
    assert str(G) == "generalizes:other:mcc:margin 0.1"


def test_generalizes_when_the_extra_set_is_as_good():
    verdict = judge(ARM_G, G, {"x": [run(60, 40)]}, n_resamples=2000)  # 10% wrong on both sets
    assert verdict.passed, verdict.summary()
    assert verdict.low > -0.1 and verdict.comparisons["unpaired"]["paired"] is False
    assert "mcc extra set − in-domain" in verdict.summary()


def test_does_not_generalize_when_the_extra_set_is_much_worse():
    verdict = judge(ARM_G, G, {"x": [run(30, 160)]}, n_resamples=2000)  # 5% wrong in-domain, 40% on the extra set
    assert verdict.status == "fail" and verdict.high < -0.1 and "by more than 0.1" in verdict.why


def test_seeds_are_resampled_together():
    runs = [run(60, 40, seed=s) for s in range(3)]
    verdict = judge(ARM_G, G, {"x": runs}, n_resamples=1000)
    assert verdict.seeds == 3 and verdict.comparisons["unpaired"]["seeds"] == 3


def test_a_run_without_the_extra_set_is_not_judged_saying_why():
    verdict = judge(ARM_G, G, {"x": [run(60, None)]}, n_resamples=500)
    assert verdict.status == "not judged" and "--extra-test other=PATH" in verdict.why


def test_an_extra_set_of_one_class_fails_naming_the_undefined_metric():
    verdict = judge(ARM_G, G, {"x": [run(60, 10, away_labels=[0] * 50)]}, n_resamples=500)
    assert verdict.status == "fail" and "mcc undefined" in verdict.why and "one class" in verdict.why


D = Expectation("directional", under="append_transfer_request", max_violation_rate=0.1)
ARM_D = Arm("x", "x", LoraSettings(), expects=(D,), extra_tests=("append_transfer_request",))
LABELS = HOME


def directional_run(fell: int, record_changed: bool = True) -> RunRecord:
    """Scores rise by 0.05 on every changed (non-fraud) record except `fell` of them, which fall."""
    original = [0.3 + 0.4 * y for y in LABELS]
    changed_rows = [i for i, y in enumerate(LABELS) if not y]
    falls = set(changed_rows[:fell])
    new = [s - 0.05 if i in falls else s + 0.05 if i in changed_rows else s for i, s in enumerate(original)]
    metrics = {"unchanged_lines": [i + 1 for i, y in enumerate(LABELS) if y]} if record_changed else {}
    evaluations = [Evaluation("test", LABELS, list(LABELS), scores=original),
                   Evaluation("test:append_transfer_request", LABELS, list(LABELS), scores=new, metrics=metrics)]
    return RunRecord(arm="x", seed=0, recipe="cpu-tiny", model="tiny", device="cpu", run_info={},
                     train_info={"status": "success"}, evaluations=evaluations)


def test_directional_passes_when_p_fraud_rarely_falls():
    verdict = judge(ARM_D, D, {"x": [directional_run(3)]}, n_resamples=2000)
    n_changed = LABELS.count(0)
    assert verdict.passed and verdict.delta == pytest.approx(3 / n_changed) and verdict.high <= 0.1
    assert verdict.comparisons["directional"]["changed"] == n_changed  # fraud records left out
    assert verdict.comparisons["directional"]["mean_delta_p"]["value"] > 0


def test_directional_fails_when_p_fraud_falls_often():
    verdict = judge(ARM_D, D, {"x": [directional_run(60)]}, n_resamples=2000)
    assert verdict.status == "fail" and "P(fraud) fell for up to" in verdict.why


def test_directional_needs_to_know_which_records_changed():
    verdict = judge(ARM_D, D, {"x": [directional_run(3, record_changed=False)]}, n_resamples=500)
    assert verdict.status == "fail" and "unchanged_lines" in verdict.why


@pytest.mark.parametrize("kind, fields, match", [
    ("generalizes", {}, "needs `on`"),
    ("generalizes", {"on": "a:b"}, "needs `on`"),
    ("directional", {"under": "neutralize_speakers", "max_violation_rate": 0.1}, "a directional set"),
    ("directional", {"under": "append_transfer_request"}, "max_violation_rate"),
    ("beats", {"other": "y", "on": "other"}, "only generalizes"),
    ("collapse", {"margin": 0.1}, "margin"),
])
def test_bad_fields(kind, fields, match):
    with pytest.raises(ValueError, match=match):
        Expectation(kind, **fields)


def test_an_arm_must_list_the_directional_set_in_its_extra_tests():
    with pytest.raises(ValueError, match="add 'append_transfer_request' to the arm's extra_tests"):
        Arm("x", "x", LoraSettings(), expects=(D,))
