"""fraudft.experiment.arms: the arms read from configs/arms.toml, and bad declarations rejected."""

import pytest

from fraudft.core.errors import UsageError
from fraudft.experiment.arms import (
    ARMS,
    ARMS_BY_NAME,
    Arm,
    arms_from_config,
)
from fraudft.results.expectations import Expectation
from fraudft.modeling.lora import LoraSettings


def test_the_grid_holds_the_series_settings():
    assert ARMS_BY_NAME["reference"].lora.scale == 2
    assert ARMS_BY_NAME["series_alpha32_d01"].lora.scale == 4 and ARMS_BY_NAME["series_alpha32_d01"].lora.dropout == 0.1
    assert ARMS_BY_NAME["rslora"].lora.rslora and ARMS_BY_NAME["rslora"].lora.scale == pytest.approx(8)
    assert ARMS_BY_NAME["untuned"].lora is None
    assert [e.kind for e in ARMS_BY_NAME["positives_only"].expects] == ["collapse"]


def test_trained_arms_must_beat_the_strongest_baseline_on_mcc():
    for arm in ARMS:
        if arm.lora is not None and not arm.train_data and not any(e.kind == "collapse" for e in arm.expects):
            assert [(e.kind, e.other, e.metric) for e in arm.expects] == [
                ("beats", ("untuned", "always_fraud", "surface_probe"), "mcc")], arm.name


def test_the_alpha_sweep_changes_alpha_only():
    sweep = [a for a in ARMS if a.name.startswith("alpha_r") or a.name == "reference"]
    assert sorted(a.lora.scale for a in sweep) == [0.5, 1, 2, 4, 8]
    assert {(a.lora.r, a.lora.dropout, a.lora.rslora) for a in sweep} == {(8, 0.05, False)}


def test_arm_fields_layer_over_the_defaults():
    arms = arms_from_config({"defaults": {"lora": {"r": 8, "alpha": 16, "dropout": 0.05}},
                             "arm": [{"name": "a", "lora": {"alpha": 32}}]})
    assert arms[0].lora == LoraSettings(r=8, alpha=32, dropout=0.05)


def test_comparisons_name_existing_arms_tested_on_the_same_data():
    for arm in ARMS:
        for expectation in arm.comparisons():
            assert expectation.kind in ("beats", "worse_than", "not_worse_than")
            assert all(ARMS_BY_NAME[other].evaluation_on(arm.test_data) for other in expectation.other)


def test_the_shortcut_pair_is_judged_against_the_reference_on_neutralised_data():
    """issue 18: not against shortcut_raw, a one-class arm ("beating" it only says MCC > 0)."""
    (e,) = ARMS_BY_NAME["shortcut_mitigated"].expects
    assert (e.kind, e.other, e.margin) == ("not_worse_than", ("reference",), 0.1)
    assert ARMS_BY_NAME["reference"].evaluation_on(("neutralize_speakers",)) == "test:neutralize_speakers"
    assert not ARMS_BY_NAME["shortcut_raw"].expects


def test_the_iso_effective_lr_arms_keep_alpha_over_r_times_lr():
    iso = [a for a in ARMS if a.name.startswith("iso_")]
    assert len(iso) == 4
    for arm in iso + [ARMS_BY_NAME["reference"]]:
        assert arm.lora.scale * arm.learning_rate_scale == pytest.approx(2.0), arm.name
    assert all(not a.runs_in("cpu-tiny") and a.runs_in("gpu") for a in iso)


@pytest.mark.parametrize("bad", [
    dict(kind="wins"), dict(kind="beats"), dict(kind="collapse", other="x"), dict(kind="beats", other="x", metric="auc"),
    dict(kind="beats", other="x", metric="accuracy"),
])
def test_bad_expectations_are_rejected(bad):
    with pytest.raises(ValueError):
        Expectation(**bad)


@pytest.mark.parametrize("bad", [
    dict(train_data=("other",)), dict(test_data=("other",)),
    dict(train_data=("neutralize_speakers", "plant:speaker_tag")),
], ids=["train-transform", "test-transform", "plant-not-first"])
def test_bad_arm_declarations_are_rejected(bad):
    with pytest.raises(ValueError):
        Arm("x", "x", LoraSettings(), **bad)


def test_an_untuned_arm_expects_nothing():
    with pytest.raises(ValueError, match="trains nothing"):
        Arm("x", "x", None, expects=(Expectation("collapse"),), method="none")


@pytest.mark.parametrize("config, message", [
    ({"arm": [{"name": "a"}, {"name": "a"}]}, "used twice"),
    ({"arm": [{"name": "a", "expect": [{"kind": "beats", "other": "b"}]}]},
     "arms.toml: a: expect: other: got 'b', expected an arm, one of a$"),
    ({"arm": [{"name": "reference", "lora": {"r": 4}}, {"name": "a", "expect": [{"kind": "beats", "other": "referense"}]}]},
     r"expect: other: got 'referense', expected an arm, one of reference, a \(did you mean reference\?\)"),
    ({"arm": [{"name": "a", "colour": "red"}]}, "unknown field"),
    ({"arm": [{"name": "a", "train": "none", "lora": {"r": 4}}]}, "takes no LoRA"),
    ({"arm": [{"name": "a", "lora": {"r": 0}}]}, "r: got 0"),
])
def test_bad_config_files_name_the_arm_and_field(config, message):
    with pytest.raises(UsageError, match=message):
        arms_from_config(config)
