"""Seeded synthetic Chinese dialogues, fraud and not fraud, in the reference record format.

    from fraudft.synthetic import SynthConfig, generate
    records = generate(SynthConfig(n=1000, seed=0))                         # the default dataset
    leaky = generate(SynthConfig(n=1000, seed=0, shortcut="speaker_tag"))   # one planted leak
    long = generate(SynthConfig(n=1000, seed=0, lengths="reference"))      # real-data lengths

    fraudft data synth --n 1000 --seed 0 --out synth.jsonl [--shortcut turns] [--lengths reference]

Each record is `{"input", "label", "fraud_speaker", "instruction"}`; `input` is `speaker: text`
lines joined by "\\n". Ten fraud schemes and twelve kinds of hard negatives (JSON templates under
templates/, see scripts.py) share the same money vocabulary (banks, transfers, verification codes,
amounts), so the label is carried by the scam pattern, not by words like 银行 or 验证码. By default
the classes share the distributions of speaker tags, number of turns, length (dialogues are padded
with neutral phrases to a length target drawn independently of the label), punctuation and digits;
`shortcut` plants one named surface feature that also predicts the label, for shortcut ablations
and leak audits (shortcuts.py). `lengths="reference"` draws the length targets from the real eval
split's token-length quantiles instead, for both classes alike (lengths.py).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from fraudft.synthetic.dialogue import dialogue
from fraudft.synthetic.lengths import LENGTHS, load_profile
from fraudft.synthetic.shortcuts import SHORTCUTS, instruction

__all__ = ["LENGTHS", "SHORTCUTS", "SynthConfig", "generate"]

# Shortcuts that set the length or the turns themselves, which a length profile draws instead.
_LENGTH_SHORTCUTS = ("length", "turns")


@dataclass(frozen=True)
class SynthConfig:
    """What to generate: size, seed, class balance, label noise, an optional planted shortcut and
    the length profile ("synthetic": the generator's own short dialogues; "reference": eval0819's)."""

    n: int = 1000
    seed: int = 0
    fraud_ratio: float = 0.5
    label_noise: float = 0.0
    shortcut: str | None = None
    lengths: str = "synthetic"

    def __post_init__(self):
        for name, low in (("n", 1), ("seed", None)):
            value = getattr(self, name)
            if type(value) is not int or (low is not None and value < low):
                wanted = "an int" + (f" >= {low}" if low is not None else "")
                raise ValueError(f"{name}: got {value!r}, expected {wanted}")
        for name, high in (("fraud_ratio", 1.0), ("label_noise", 0.5)):
            value = getattr(self, name)
            number = type(value) in (int, float) and math.isfinite(value)
            if not number or not 0 <= value <= high:
                raise ValueError(f"{name}: got {value!r}, expected a number in [0, {high}]")
        if self.shortcut is not None and self.shortcut not in SHORTCUTS:
            valid = ", ".join(repr(s) for s in SHORTCUTS)
            raise ValueError(f"shortcut: got {self.shortcut!r}, expected None or one of {valid}")
        if self.lengths not in LENGTHS:
            valid = ", ".join(repr(s) for s in LENGTHS)
            raise ValueError(f"lengths: got {self.lengths!r}, expected one of {valid}")
        if self.lengths != "synthetic" and self.shortcut in _LENGTH_SHORTCUTS:
            raise ValueError(
                f"lengths: got {self.lengths!r} with shortcut {self.shortcut!r}, expected lengths='synthetic' "
                f"for the shortcuts {', '.join(_LENGTH_SHORTCUTS)} (they set the length themselves)"
            )


def generate(config: SynthConfig = SynthConfig()) -> list[dict]:
    """`config.n` shuffled records; the same config always gives the same records."""
    rng = random.Random(config.seed)
    profile = None if config.lengths == "synthetic" else load_profile(config.lengths)
    n_fraud = round(config.n * config.fraud_ratio)
    labels = [True] * n_fraud + [False] * (config.n - n_fraud)
    rng.shuffle(labels)
    records, speakers = [], []
    for label in labels:
        text, tags = dialogue(rng, label, config.shortcut, profile)
        records.append(
            {
                "input": text,
                "label": label,
                "fraud_speaker": tags["A"] if label else "",
                "instruction": instruction(label, config.shortcut),
            }
        )
        speakers.append(sorted(tags.values()))
    for i in rng.sample(range(config.n), round(config.n * config.label_noise)):
        record = records[i]
        record["label"] = not record["label"]
        record["fraud_speaker"] = rng.choice(speakers[i]) if record["label"] else ""
    return records
