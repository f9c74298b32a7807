"""The ablation arms, declared in one table (in the spirit of peft's method_comparison).

Each arm says how the adapter is trained (or not), on which training data, and what it expects.
To add an arm, add a row to ARMS; the benchmark (`pytest bench`) parametrizes over this table.

Expectations:
- `beats_untuned`: F1 on the test set above the untuned model's (the reference's first claim).
- `collapse`: says "fraud" to everything (recall 1.0, tn 0): the positive-only shortcut result.
- `worse_than_reference`: F1 clearly below the reference arm's on the same clean test set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fraudft.model import LoraSettings

EXPECTATIONS = ("beats_untuned", "collapse", "worse_than_reference")
TrainData = Literal["standard", "positives_only", "shortcut"]


@dataclass(frozen=True)
class Arm:
    name: str
    description: str
    lora: LoraSettings | None  # None: the untuned model, evaluated only
    train_data: TrainData = "standard"
    expects: tuple[str, ...] = ()
    reference_result: str = ""  # what the series reported for this setting (REFERENCE §6)

    def __post_init__(self):
        unknown = set(self.expects) - set(EXPECTATIONS)
        if unknown:
            raise ValueError(f"{self.name}: expects: unknown {sorted(unknown)}, expected some of {EXPECTATIONS}")
        if self.train_data not in ("standard", "positives_only", "shortcut"):
            raise ValueError(f"{self.name}: train_data: got {self.train_data!r}")
        if self.lora is None and (self.expects or self.train_data != "standard"):
            raise ValueError(f"{self.name}: an untuned arm trains nothing, so it can expect nothing")


ARMS: tuple[Arm, ...] = (
    Arm("untuned", "the base model, no fine-tuning", None,
        reference_result="eval P 0.8851 R 0.4556"),
    Arm("reference", "r8 alpha16 dropout0.05 (alpha/r = 2), the article's config",
        LoraSettings(r=8, alpha=16, dropout=0.05), expects=("beats_untuned",),
        reference_result="test P 0.9348 R 0.7276"),
    Arm("alpha_r4", "r8 alpha32 dropout0.1 (alpha/r = 4)",
        LoraSettings(r=8, alpha=32, dropout=0.1), expects=("beats_untuned",),
        reference_result="test P 0.9686 R 0.4966"),
    Arm("positives_only", "reference config trained on fraud records only",
        LoraSettings(r=8, alpha=16, dropout=0.05), train_data="positives_only", expects=("collapse",),
        reference_result="test P 0.5032 R 1.0000 (tn 0)"),
    Arm("r16_d02", "r16 alpha32 dropout0.2, the series' final config",
        LoraSettings(r=16, alpha=32, dropout=0.2), expects=("beats_untuned",),
        reference_result="eval P 0.9790 R 0.8664"),
    Arm("rslora", "r16 alpha32 dropout0.2 with rsLoRA (scale alpha/sqrt(r) = 8)",
        LoraSettings(r=16, alpha=32, dropout=0.2, rslora=True), expects=("beats_untuned",)),
    Arm("shortcut", "reference config trained on data with a planted speaker-tag shortcut, tested on clean data",
        LoraSettings(r=8, alpha=16, dropout=0.05), train_data="shortcut", expects=("worse_than_reference",)),
)
ARMS_BY_NAME = {arm.name: arm for arm in ARMS}
