"""The `invariant` expectation: the flip rate's 95% upper bound under a counterfactual at most max."""

from __future__ import annotations

import numpy as np
import pytest

from fraudft.core.errors import UsageError
from fraudft.experiment.arms import Arm, arms_from_config
from fraudft.results.expectations import KINDS, Expectation, judge
from fraudft.modeling.lora import LoraSettings
from fraudft.results.record import Evaluation, RunRecord

N = 1000
LABELS = [int(y) for y in np.random.default_rng(0).integers(0, 2, N)]


def run(flips: int, extra: bool = True) -> RunRecord:
    original = list(LABELS)
    changed = [1 - p if i < flips else p for i, p in enumerate(original)]
    evaluations = [Evaluation("test", LABELS, original)]
    if extra:
        evaluations.append(Evaluation("test:neutralize_speakers", LABELS, changed))
    return RunRecord(arm="x", seed=0, recipe="cpu-tiny", model="tiny", device="cpu", run_info={},
                     train_info={"status": "success"}, evaluations=evaluations)


E = Expectation("invariant", under="neutralize_speakers", max_flip_rate=0.05)
ARM = Arm("x", "x", LoraSettings(), expects=(E,), extra_tests=("neutralize_speakers",))


def test_registered_and_described():
    assert "invariant" in KINDS and not KINDS["invariant"].compares
    assert str(E) == "invariant:neutralize_speakers:flip rate <= 0.05"


def test_passes_when_the_upper_bound_is_within_max():
    verdict = judge(ARM, E, {"x": [run(10)]}, n_resamples=2000)
    assert verdict.passed and verdict.delta == 0.01 and verdict.high <= 0.05
    assert "flip rate 0.010 [" in verdict.summary()


def test_fails_when_the_upper_bound_exceeds_max_even_if_the_value_does_not():
    verdict = judge(ARM, E, {"x": [run(45)]}, n_resamples=2000)  # 4.5% flips, upper bound above 5%
    assert verdict.status == "fail" and verdict.delta < 0.05 < verdict.high and "flip rate up to" in verdict.why


def test_fails_without_the_counterfactual_evaluation():
    verdict = judge(ARM, E, {"x": [run(0, extra=False)]}, n_resamples=500)
    assert verdict.status == "fail" and "test:neutralize_speakers" in verdict.why


@pytest.mark.parametrize("fields, match", [
    ({}, "needs `under`"),
    ({"under": "neutralize_speakers"}, "max_flip_rate"),
    ({"under": "neutralize_speakers", "max_flip_rate": 1.5}, "max_flip_rate"),
])
def test_bad_fields(fields, match):
    with pytest.raises(ValueError, match=match):
        Expectation("invariant", **fields)
    with pytest.raises(ValueError, match="only invariant"):
        Expectation("collapse", under="neutralize_speakers")


def test_arms_toml_requires_under_among_extra_tests():
    config = {"arm": [{"name": "a", "expect": [{"kind": "invariant", "under": "swap_speaker_names",
                                                "max_flip_rate": 0.05}]}]}
    with pytest.raises(UsageError, match="add 'swap_speaker_names' to the arm's extra_tests"):
        arms_from_config(config)
    config["arm"][0]["extra_tests"] = ["swap_speaker_names"]
    assert arms_from_config(config)[0].expects[0].under == "swap_speaker_names"
