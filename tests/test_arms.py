import pytest

from fraudft.arms import ARMS, ARMS_BY_NAME, Arm
from fraudft.model import LoraSettings


def test_the_grid_holds_the_series_settings():
    assert ARMS_BY_NAME["reference"].lora.scale == 2
    assert ARMS_BY_NAME["alpha_r4"].lora.scale == 4
    assert ARMS_BY_NAME["rslora"].lora.rslora and ARMS_BY_NAME["rslora"].lora.scale == pytest.approx(8)
    assert ARMS_BY_NAME["untuned"].lora is None
    assert ARMS_BY_NAME["positives_only"].expects == ("collapse",)


def test_comparisons_name_existing_arms_tested_on_the_same_data():
    for arm in ARMS:
        for kind, other in arm.comparisons():
            assert kind in ("beats", "worse_than")
            assert ARMS_BY_NAME[other].test_data == arm.test_data


@pytest.mark.parametrize("bad", [
    dict(expects=("wins",)), dict(expects=("beats:",)), dict(train_data="other"), dict(test_data="other"),
])
def test_bad_arm_declarations_are_rejected(bad):
    with pytest.raises(ValueError):
        Arm("x", "x", LoraSettings(), **bad)


def test_an_untuned_arm_expects_nothing():
    with pytest.raises(ValueError, match="untuned"):
        Arm("x", "x", None, expects=("collapse",))
