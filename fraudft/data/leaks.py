"""Lines shared between splits: the leak of data chunked at case level before splitting.

    from fraudft.data.leaks import LeakConfig, shared_line_leaks
    leaks = shared_line_leaks({"train": train, "test": test}, LeakConfig())

A shared line counts only when it is meaningful: at least `line_min_chars` characters once the
speaker tag is stripped, and not formulaic. A line is formulaic (a template or boilerplate, not a
leaked case) when it occurs verbatim in at least `formulaic_min_records` records of all splits
together, or when at least `formulaic_coverage` of its characters lie in character
`formulaic_ngram`-grams found in at least `formulaic_min_lines` distinct lines. 0 turns either
rule off.

Lines are compared by their keys (fraudft.data.dialogue.normalize_input: NFKC, whitespace removed), so
that a line rewritten with ASCII `,?.` for full-width `，？。` is still the same line.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from fraudft.data.dialogue import meaningful_lines, normalize_input, parse_dialogue


@dataclass(frozen=True)
class LeakConfig:
    """What makes a shared line meaningful (see the module docstring)."""

    line_min_chars: int = 12
    formulaic_min_records: int = 10
    formulaic_ngram: int = 8
    formulaic_min_lines: int = 5
    formulaic_coverage: float = 0.5

    def __post_init__(self):
        lows = {"line_min_chars": 1, "formulaic_min_records": 0, "formulaic_ngram": 2, "formulaic_min_lines": 0}
        for name, low in lows.items():
            value = getattr(self, name)
            if type(value) is not int or value < low:
                raise ValueError(f"{name}: got {value!r}, expected an int >= {low}")
        value = self.formulaic_coverage
        if type(value) not in (int, float) or not (math.isfinite(value) and 0 <= value <= 1):
            raise ValueError(f"formulaic_coverage: got {value!r}, expected a number in [0, 1]")


def _formulaic(candidates: set[str], all_lines: set[str], line_records: Counter, config: LeakConfig) -> set[str]:
    """The candidate lines that are templates or boilerplate rather than a leaked case (see AuditConfig)."""
    formulaic = set()
    if config.formulaic_min_records:
        formulaic = {line for line in candidates if line_records[line] >= config.formulaic_min_records}
    k, min_lines = config.formulaic_ngram, config.formulaic_min_lines
    rest = candidates - formulaic
    if min_lines == 0 or not rest:
        return formulaic
    grams = {line[i:i + k] for line in rest for i in range(len(line) - k + 1)}
    df = Counter()
    for line in all_lines:
        df.update({line[i:i + k] for i in range(len(line) - k + 1)} & grams)
    for line in rest:
        covered = np.zeros(len(line), dtype=bool)
        for i in range(len(line) - k + 1):
            if df[line[i:i + k]] >= min_lines:
                covered[i:i + k] = True
        if covered.mean() >= config.formulaic_coverage:
            formulaic.add(line)
    return formulaic


def shared_line_leaks(splits: dict[str, list[dict]], config: LeakConfig) -> dict:
    """The meaningful lines of every record, and which lines shared between splits are formulaic.

    Returns {"lines": {split: [set of line keys per record]}, "shared": line keys found in two or
    more splits, "formulaic": the formulaic ones among them, "originals": {shared key: the line as
    first written (tag stripped, ends stripped)}, for reports}.
    """
    lines = {name: [meaningful_lines(r["input"], config.line_min_chars) for r in records]
             for name, records in splits.items()}
    line_records = Counter(line for sets in lines.values() for s in sets for line in s)
    seen, shared = set(), set()
    for sets in lines.values():
        split_lines = set().union(*sets)
        shared |= split_lines & seen
        seen |= split_lines
    all_lines, originals = set(), {}
    for records in splits.values():
        for r in records:
            for _, text in parse_dialogue(r["input"]):
                key = normalize_input(text)
                all_lines.add(key)
                if key in shared and key not in originals:
                    originals[key] = text.strip()
    all_lines.discard("")
    return {"lines": lines, "shared": shared, "formulaic": _formulaic(shared, all_lines, line_records, config),
            "originals": originals}
