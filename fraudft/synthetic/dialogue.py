"""Assemble one dialogue: pick a script, speaker order and tags, fill slots, pad and punctuate.

    text, tags = dialogue(random.Random(0), fraud=True, shortcut=None)
    text, tags = dialogue(rng, fraud=False, shortcut=None, profile=load_profile("reference"))

The label is carried by the script's content; turns, length, tags and punctuation are drawn the
same way for both classes unless `shortcut` plants one of them (see shortcuts.py). With a length
`profile`, the length target comes from its table instead, the number of turns follows from it,
and the padded dialogue is cut at the target as the reference's chunker cuts a case.
"""

from __future__ import annotations

import random

from fraudft.synthetic.lengths import LengthProfile, cut
from fraudft.synthetic.scripts import (
    FILLERS,
    FRAUD_SCRIPTS,
    NEGATIVE_SCRIPTS,
    PHRASES,
    Script,
)
from fraudft.synthetic.shortcuts import (
    length_target,
    punctuate,
    sample_turns,
    speaker_tags,
)


class Slots(dict):
    """Template slots, each drawn once per dialogue so a dialogue stays self-consistent."""

    def __init__(self, rng: random.Random):
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        self[key] = value = FILLERS[key](self.rng)
        return value


def speaker_order(rng: random.Random, turns: int) -> list[str]:
    """Who speaks each turn: A (main speaker) and B alternate; a bystander C may cut in once."""
    first = 0 if rng.random() < 0.75 else 1
    order = ["AB"[(first + i) % 2] for i in range(turns)]
    if turns >= 4 and rng.random() < 0.2:
        order[rng.choice([i for i, who in enumerate(order) if who == "B"])] = "C"
    return order


def script_lines(rng: random.Random, script: Script, order: list[str]) -> list[str]:
    """A's lines: an optional opening, core lines, an optional closing; B replies; C a bystander line."""
    slots = Slots(rng)
    n_a = order.count("A")
    opening = n_a >= 2 and rng.random() < 0.8
    closing = n_a - opening >= 2 and rng.random() < 0.6
    a_lines = (
        ([rng.choice(script.opening)] if opening else [])
        + rng.sample(script.core, n_a - opening - closing)
        + ([rng.choice(script.closing)] if closing else [])
    )
    b_lines = rng.sample(script.replies + PHRASES["neutral_replies"], order.count("B"))
    pick = {"A": lambda: a_lines.pop(0), "B": b_lines.pop, "C": lambda: rng.choice(PHRASES["bystander_lines"])}
    lines = [pick[who]() for who in order]
    return [line.format_map(slots) for line in lines]


def pad(rng: random.Random, lines: list[str], target: int, overhead: int) -> None:
    """Lengthen lines in place with neutral phrases until the dialogue has `target` characters."""
    prefixes, suffixes = PHRASES["pad_prefixes"], PHRASES["pad_suffixes"]
    prefixed, added = [False] * len(lines), [0] * len(lines)
    while sum(map(len, lines)) + overhead < target:
        i = rng.choice([k for k, count in enumerate(added) if count == min(added)])  # spread evenly
        if not prefixed[i] and rng.random() < 0.3:
            lines[i], prefixed[i] = rng.choice(prefixes) + lines[i], True
        else:
            lines[i] += rng.choice([s for s in suffixes if s not in lines[i]] or suffixes)
            added[i] += 1


def dialogue(
    rng: random.Random, fraud: bool, shortcut: str | None, profile: LengthProfile | None = None
) -> tuple[str, dict]:
    """One dialogue and the speaker tags (by role A, B, C) of those who speak in it."""
    script = rng.choice(FRAUD_SCRIPTS if fraud else NEGATIVE_SCRIPTS)
    if profile is None:
        turns = sample_turns(rng, fraud, shortcut)
        target = length_target(rng, turns, fraud, shortcut)
    else:
        target = profile.target_chars(rng)
        turns = profile.turns(rng, target)
    order = speaker_order(rng, turns)
    tags = speaker_tags(rng, script, fraud, shortcut)
    tags = {who: tags[who] for who in "ABC" if who in order}
    overhead = sum(len(tags[who]) + 3 for who in order) - 1  # "tag: " and the "\n" between lines
    for _ in range(10):  # prefer a draw that fits the length target, so padding sets the length
        lines = script_lines(rng, script, order)
        if sum(map(len, lines)) + overhead <= target:
            break
    pad(rng, lines, target, overhead)
    lines = [f"{tags[who]}: {punctuate(rng, line, fraud, shortcut)}" for who, line in zip(order, lines)]
    if profile is not None:
        lines = cut(lines, target, keep=order.index("A"))
        tags = {who: tags[who] for who in "ABC" if who in order[: len(lines)]}
    return "\n".join(lines), tags
