"""The ablation arms, declared in one table (in the spirit of peft's method_comparison).

Each arm says how the adapter is trained (or not), on which training data, and what it expects.
To add an arm, add a row to ARMS; the benchmark (`pytest bench`) parametrizes over this table.

Expectations:
- `collapse`: says "fraud" to everything (recall 1.0, tn 0): the positive-only shortcut result.
- `beats:ARM`: F1 significantly above ARM's on the same test set (paired bootstrap).
- `worse_than:ARM`: F1 significantly below ARM's on the same test set.

Test data: `standard` is the clean test split; `mitigated` is the same split with speaker tags
neutralised (fraudft.mitigate), so raw and mitigated training can be compared on equal terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fraudft.model import LoraSettings

TrainData = Literal["standard", "positives_only", "shortcut", "shortcut_mitigated"]
TestData = Literal["standard", "mitigated"]
COMPARISON_KINDS = ("beats", "worse_than")


@dataclass(frozen=True)
class Arm:
    name: str
    description: str
    lora: LoraSettings | None  # None: the untuned model, evaluated only
    train_data: TrainData = "standard"
    test_data: TestData = "standard"
    expects: tuple[str, ...] = ()
    reference_result: str = ""  # what the series reported for this setting (REFERENCE §6)

    def __post_init__(self):
        for expectation in self.expects:
            kind, _, other = expectation.partition(":")
            if expectation != "collapse" and (kind not in COMPARISON_KINDS or not other):
                raise ValueError(f"{self.name}: expects: got {expectation!r}, expected 'collapse', 'beats:ARM' or 'worse_than:ARM'")
        if self.train_data not in ("standard", "positives_only", "shortcut", "shortcut_mitigated"):
            raise ValueError(f"{self.name}: train_data: got {self.train_data!r}")
        if self.test_data not in ("standard", "mitigated"):
            raise ValueError(f"{self.name}: test_data: got {self.test_data!r}")
        if self.lora is None and (self.expects or self.train_data != "standard"):
            raise ValueError(f"{self.name}: an untuned arm trains nothing, so it can expect nothing")

    def comparisons(self) -> list[tuple[str, str]]:
        """(kind, other arm) pairs this arm expects, e.g. ("beats", "untuned")."""
        return [tuple(e.split(":", 1)) for e in self.expects if e != "collapse"]


ARMS: tuple[Arm, ...] = (
    Arm("untuned", "the base model, no fine-tuning", None,
        reference_result="eval P 0.8851 R 0.4556"),
    Arm("reference", "r8 alpha16 dropout0.05 (alpha/r = 2), the article's config",
        LoraSettings(r=8, alpha=16, dropout=0.05), expects=("beats:untuned",),
        reference_result="test P 0.9348 R 0.7276"),
    Arm("alpha_r4", "r8 alpha32 dropout0.1 (alpha/r = 4)",
        LoraSettings(r=8, alpha=32, dropout=0.1), expects=("beats:untuned",),
        reference_result="test P 0.9686 R 0.4966"),
    Arm("positives_only", "reference config trained on fraud records only",
        LoraSettings(r=8, alpha=16, dropout=0.05), train_data="positives_only", expects=("collapse",),
        reference_result="test P 0.5032 R 1.0000 (tn 0)"),
    Arm("r16_d02", "r16 alpha32 dropout0.2, the series' final config",
        LoraSettings(r=16, alpha=32, dropout=0.2), expects=("beats:untuned",),
        reference_result="eval P 0.9790 R 0.8664"),
    Arm("rslora", "r16 alpha32 dropout0.2 with rsLoRA (scale alpha/sqrt(r) = 8)",
        LoraSettings(r=16, alpha=32, dropout=0.2, rslora=True), expects=("beats:untuned",)),
    Arm("shortcut", "reference config trained on data with a planted speaker-tag shortcut, tested on clean data",
        LoraSettings(r=8, alpha=16, dropout=0.05), train_data="shortcut", expects=("worse_than:reference",)),
    Arm("shortcut_raw", "reference config trained on the speaker-tag shortcut data, tested on speaker-neutralised data",
        LoraSettings(r=8, alpha=16, dropout=0.05), train_data="shortcut", test_data="mitigated"),
    Arm("shortcut_mitigated", "reference config trained on the same data with speaker tags neutralised, tested likewise",
        LoraSettings(r=8, alpha=16, dropout=0.05), train_data="shortcut_mitigated", test_data="mitigated",
        expects=("beats:shortcut_raw",)),
)
ARMS_BY_NAME = {arm.name: arm for arm in ARMS}
for _arm in ARMS:
    for _kind, _other in _arm.comparisons():
        if ARMS_BY_NAME[_other].test_data != _arm.test_data:
            raise ValueError(f"{_arm.name}: compared with {_other}, which is tested on other data")
