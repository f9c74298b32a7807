"""fraudft.results.expectations: kinds registered by name, judged in the library on records."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pytest

from fraudft.core.errors import UsageError
from fraudft.experiment.arms import ARMS_BY_NAME, Arm
from fraudft.results.expectations import KINDS, Expectation, check_metrics_available, judge, judge_all
from fraudft.experiment.recipes import load_recipe
from fraudft.modeling.lora import LoraSettings
from fraudft.results.record import Evaluation, RunRecord

RNG = np.random.default_rng(0)
N = 400
LABELS = [int(y) for y in RNG.integers(0, 2, N)]


def run(arm: str, accuracy: float, seed: int = 0, scores: bool = True) -> RunRecord:
    """A record whose predictions are right with probability `accuracy` (scores that rank alike)."""
    rng = np.random.default_rng(zlib.crc32(f"{arm}/{seed}".encode()))  # stable across processes (hash() is not)
    right = rng.random(N) < accuracy
    predictions = [y if r else 1 - y for y, r in zip(LABELS, right)]
    values = [round(0.5 + 0.5 * rng.random(), 4) if p else round(0.49 * rng.random(), 4) for p in predictions]
    return RunRecord(arm=arm, seed=seed, recipe="cpu-tiny", model="tiny", device="cpu", run_info={},
                     train_info={"status": "success"},
                     evaluations=[Evaluation("test", LABELS, predictions, scores=values if scores else None)])


def arm(name="x", *expects: Expectation) -> Arm:
    return Arm(name, name, LoraSettings(), expects=expects)


def test_the_registered_kinds():
    assert set(KINDS) >= {"beats", "worse_than", "collapse"}
    assert KINDS["beats"].compares and not KINDS["collapse"].compares


@pytest.mark.parametrize("metric", ["mcc", "roc_auc", "brier"])
def test_beats_every_other_arm_and_reports_the_weakest(metric):
    e = Expectation("beats", ("weak", "strong"), metric)
    runs = {"x": [run("x", 0.9)], "weak": [run("weak", 0.55)], "strong": [run("strong", 0.75)]}
    verdict = judge(arm("x", e), e, runs, n_resamples=2000)
    assert verdict.passed, verdict.summary()
    assert verdict.other == "strong" and set(verdict.comparisons) == {"weak", "strong"}
    sign = 1 if metric != "brier" else -1  # the Brier score is better lower: "beats" is a negative delta
    assert sign * verdict.delta > 0 and sign * verdict.comparisons["weak"]["delta"] > sign * verdict.delta


def test_beats_fails_when_one_other_arm_is_not_beaten():
    e = Expectation("beats", ("weak", "equal"))
    runs = {"x": [run("x", 0.8)], "weak": [run("weak", 0.55)], "equal": [run("equal", 0.8)]}
    verdict = judge(arm("x", e), e, runs, n_resamples=2000)
    assert verdict.status == "fail" and verdict.other == "equal" and "equal" in verdict.why
    assert "FAIL" in verdict.summary()


def test_worse_than_and_collapse():
    worse = Expectation("worse_than", ("reference",))
    runs = {"x": [run("x", 0.55)], "reference": [run("reference", 0.85)]}
    assert judge(arm("x", worse), worse, runs, n_resamples=2000).passed
    collapse = Expectation("collapse")
    always = RunRecord(arm="x", seed=0, recipe="r", model="m", device="cpu", run_info={}, train_info={"status": "success"},
                       evaluations=[Evaluation("test", LABELS, [1] * N, scores=[1.0] * N)])
    assert judge(arm("x", collapse), collapse, {"x": [always]}).passed
    assert judge(arm("x", collapse), collapse, {"x": [run("x", 0.8)]}).status == "fail"


def test_missing_records_are_not_judged():
    e = Expectation("beats", ("y",))
    verdict = judge(arm("x", e), e, {"x": [run("x", 0.8)]})
    assert verdict.status == "not judged" and "no successful run of y" in verdict.why


def test_a_score_metric_without_scores_fails_saying_why():
    e = Expectation("beats", ("y",), "roc_auc")
    verdict = judge(arm("x", e), e, {"x": [run("x", 0.9, scores=False)], "y": [run("y", 0.5)]})
    assert verdict.status == "fail" and "roc_auc needs scores" in verdict.why


def test_a_score_metric_on_a_generate_mode_recipe_is_a_usage_error():
    import dataclasses

    recipe = load_recipe("smoke")
    generate = dataclasses.replace(recipe, eval=dataclasses.replace(recipe.eval, mode="generate"))
    arms = [arm("x", Expectation("beats", ("y",), "roc_auc"))]
    check_metrics_available(arms, recipe)
    with pytest.raises(UsageError, match="roc_auc needs P\\(fraud\\) scores.*generate mode"):
        check_metrics_available(arms, generate)


def ran_with(record: RunRecord, *expects, test_data=()) -> RunRecord:
    """The record with its arm's config as the runner stores it: the expectations it ran with."""
    record.run_info = {"config": {"arm": {"name": record.arm, "test_data": list(test_data),
                                          "expects": [dataclasses.asdict(e) for e in expects]}}}
    return record


def test_judge_all_judges_the_expectations_the_records_ran_with_not_arms_toml():
    ran = Expectation("beats", ("untuned",))  # reference's own; arms.toml's today names other arms
    assert ARMS_BY_NAME["reference"].expects[0] != ran
    records = [ran_with(run("untuned", 0.5)), ran_with(run("surface_probe", 0.6)), ran_with(run("reference", 0.9), ran)]
    verdicts = judge_all(records, n_resamples=2000)
    assert [(v.arm, v.expectation) for v in verdicts] == [("reference", "beats:untuned:mcc")]
    assert verdicts[0].passed and verdicts[0].compared_with == ["untuned"]
    assert judge_all([run("reference", 0.9), run("untuned", 0.5)]) == []  # no stored expectations: none judged


def test_stored_expectations_that_cannot_be_judged_say_why():
    from fraudft.results.expectations import stored_expectation

    assert str(stored_expectation("beats:untuned")) == "beats:untuned:f1"  # the earliest records' form
    assert stored_expectation("beats:untuned", [{"kind": "beats", "other": "untuned", "metric": "mcc"}]).metric == "mcc"
    gone = ran_with(run("reference", 0.9))
    gone.run_info["config"]["arm"]["expects"] = [{"kind": "beats", "other": ["untuned"], "metric": "no_such_metric"}]
    (verdict,) = judge_all([gone, ran_with(run("untuned", 0.5))])
    assert verdict.status == "not judged" and "no_such_metric" in verdict.why and "cannot be judged today" in verdict.why
    seed1 = ran_with(run("reference", 0.9, seed=1), Expectation("collapse"))
    seed0 = ran_with(run("reference", 0.9), Expectation("beats", ("untuned",)))
    verdicts = judge_all([seed0, seed1, ran_with(run("untuned", 0.5))])
    assert verdicts and all(v.status == "not judged" and "different test data or expectations" in v.why for v in verdicts)


def test_claims_are_holm_adjusted_across_the_family_the_gate_is_not():
    e = Expectation("beats", ("weak",))
    clear = judge(arm("x", e), e, {"x": [run("x", 0.9)], "weak": [run("weak", 0.55)]}, n_resamples=2000)
    near = judge(arm("y", e), e, {"y": [run("y", 0.62, seed=3)], "weak": [run("weak", 0.55)]}, n_resamples=2000)
    from fraudft.results.expectations import holm_claims

    (a, b) = holm_claims([clear, near])
    ordered = sorted([a, b], key=lambda v: v.p_value)
    assert ordered[0].p_adjusted == pytest.approx(min(1, 2 * ordered[0].p_value))
    assert ordered[1].p_adjusted == pytest.approx(max(ordered[0].p_adjusted, ordered[1].p_value))
    assert a.status == clear.status  # the gate's reading of each verdict is unchanged
    assert "as a claim, Holm-adjusted p" in a.summary()


def test_not_worse_than_is_non_inferiority_within_the_margin():
    e = Expectation("not_worse_than", ("ref",), "mcc", margin=0.1)
    ref = run("ref", 0.8)
    same = {"x": [dataclasses.replace(ref, arm="x")], "ref": [ref]}
    assert judge(arm("x", e), e, same, n_resamples=2000).passed  # the same answers: a difference of 0
    much_worse = {"x": [run("x", 0.6)], "ref": [run("ref", 0.85)]}
    verdict = judge(arm("x", e), e, much_worse, n_resamples=2000)
    assert verdict.status == "fail" and "by more than 0.1" in verdict.why
    with pytest.raises(ValueError, match="only not_worse_than and generalizes take a margin"):
        Expectation("beats", ("ref",), margin=0.1)


def test_the_other_arm_is_compared_on_our_test_data_through_its_extra_evaluation():
    e = Expectation("beats", ("ref",))
    ours = run("x", 0.9)
    ours.run_info = {"config": {"arm": {"test_data": ["neutralize_speakers"]}}}
    ref = run("ref", 0.6)
    ref.evaluations = [Evaluation("test", LABELS, [1] * N),  # its own test data: not ours
                       Evaluation("test:neutralize_speakers", LABELS, ref.test.predictions, scores=ref.test.scores)]
    tested = Arm("x", "x", LoraSettings(), test_data=("neutralize_speakers",), expects=(e,))
    verdict = judge(tested, e, {"x": [ours], "ref": [ref]}, n_resamples=2000)
    assert verdict.passed and verdict.delta > 0.3  # against the 0.6-accurate extra evaluation, not the all-fraud one
    ref.evaluations = ref.evaluations[:1]
    verdict = judge(tested, e, {"x": [ours], "ref": [ref]}, n_resamples=2000)
    assert verdict.status == "fail" and "no evaluation on the test data" in verdict.why
