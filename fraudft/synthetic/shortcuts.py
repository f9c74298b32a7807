"""Where the label may leak into surface features: turns, length, speaker tags, punctuation, instruction.

    from fraudft.synthetic.shortcuts import SHORTCUTS
    generate(SynthConfig(shortcut="speaker_tag"))   # plant one of SHORTCUTS

Each helper draws the feature the same way for both classes unless `shortcut` names it, in which
case the feature also predicts the label (for shortcut ablations and leak audits).
"""

from __future__ import annotations

import random

from fraudft.data.records import REFERENCE_INSTRUCTION
from fraudft.synthetic.scripts import PHRASES, Script

SHORTCUTS: tuple[str, ...] = ("speaker_tag", "length", "turns", "instruction", "punctuation")

LEAKY_INSTRUCTION = REFERENCE_INSTRUCTION[:-1] + " \n"  # shortcut="instruction": a trailing space


def instruction(fraud: bool, shortcut: str | None) -> str:
    return LEAKY_INSTRUCTION if fraud and shortcut == "instruction" else REFERENCE_INSTRUCTION


def sample_turns(rng: random.Random, fraud: bool, shortcut: str | None) -> int:
    if shortcut == "turns":
        return rng.randint(6, 10) if fraud else rng.randint(2, 3)
    return rng.randint(2, 8)


def length_target(rng: random.Random, turns: int, fraud: bool, shortcut: str | None) -> int:
    """Characters to pad the dialogue up to, drawn the same way for both classes by default."""
    if shortcut == "turns":
        turns = rng.randint(2, 8)  # keep the characters comparable across the two turn ranges
    target = turns * rng.randint(20, 28) + rng.randint(20, 60)
    return target + 250 if shortcut == "length" and fraud else target


def speaker_tags(rng: random.Random, script: Script, fraud: bool, shortcut: str | None) -> dict:
    """Tags of A, B and C: numbered (发言人N) or names, or role names for fraud under speaker_tag."""
    person_tags = PHRASES["person_tags"]
    if shortcut == "speaker_tag":
        if not fraud:
            return dict(zip("ABC", (f"发言人{k}" for k in rng.sample(range(1, 10), 3))))
        names = rng.sample(person_tags, 3)
        if rng.random() < 0.5:
            names[0] = rng.choice(script.roles)
        return dict(zip("ABC", names))
    numbers, names = rng.sample(range(1, 10), 3), rng.sample(person_tags, 3)
    return {
        who: f"发言人{numbers[i]}" if rng.random() < 0.6 else names[i] for i, who in enumerate("ABC")
    }


def punctuate(rng: random.Random, line: str, fraud: bool, shortcut: str | None) -> str:
    if shortcut == "punctuation":
        return line.replace("。", "！")[:-1] + "！" if fraud else line  # templates have no ！
    return line[:-1] + "！" if rng.random() < 0.08 else line
