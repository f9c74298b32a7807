"""Per-record features the checks share, and the small helpers their verdicts use.

    split = prepare_split("train", records, tokenizer=None)   # parsed turns, sizes, labels
    x, names = surface_features(split)                         # the probe's non-content features
    effect_sizes(fraud_values, not_fraud_values)               # Cohen's d, rank-biserial r, AUC
    show("。\\r\\n") == '"。\\\\r\\\\n"'                          # how reports quote text (escape)

A dialogue line is `speaker: text` (fraudft.data.dialogue.parse_dialogue); lines without a speaker tag
count as turns but have no speaker.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

from fraudft.audit.report import LEVELS
from fraudft.data.dialogue import LINE_ENDINGS, line_ending_style, normalize_input, parse_dialogue, speaker_format

CLASS_NAMES = {True: "fraud", False: "not_fraud"}
SPEAKER_FORMATS = ("numbered", "name", "role", "other")
PUNCTUATION = ("！", "!", "？", "?", "。", "…", "，", ",", "、", "；", "：", "~", "“", "”", "《")


PLACES = ("line", "item", "row")  # fraudft.data.formats' Format.places


@dataclass
class Split:
    """One split's records with what the checks compute from them once."""

    name: str
    records: list[dict]
    labels: np.ndarray  # bool
    turns: list[list[tuple[str | None, str]]]
    keys: list[str]  # normalize_input of each input: the key of duplicate, leakage and label-conflict checks
    line_endings: list[str | None]  # line_ending_style of each input (None: no line break)
    chars: np.ndarray
    n_turns: np.ndarray
    tokens: np.ndarray | None  # None without a tokenizer
    place: str = "line"  # how its records are named (the reader's places: line, item or row), numbered from 1

    @property
    def has_both_classes(self) -> bool:
        return 0 < self.labels.sum() < len(self.labels)


def prepare_split(name: str, records: list[dict], tokenizer, place: str = "line") -> Split:
    """Parse each record's dialogue, key it, and count its characters, turns and (with a tokenizer) tokens.
    `place`: how reports name its records, "line" (JSONL), "item" (JSON arrays) or "row" (tables)."""
    if place not in PLACES:
        raise ValueError(f"place: got {place!r}, expected one of {', '.join(PLACES)}")
    turns = [parse_dialogue(r["input"]) for r in records]
    tokens = None
    if tokenizer is not None:
        encoded = tokenizer([r["input"] for r in records], add_special_tokens=False)["input_ids"]
        tokens = np.array([len(ids) for ids in encoded], dtype=float)
    return Split(
        name=name,
        records=records,
        labels=np.array([r["label"] for r in records], dtype=bool),
        turns=turns,
        keys=[normalize_input(r["input"]) for r in records],
        line_endings=[line_ending_style(r["input"]) for r in records],
        chars=np.array([len(r["input"]) for r in records], dtype=float),
        n_turns=np.array([len(t) for t in turns], dtype=float),
        tokens=tokens,
        place=place,
    )


def describe(values: np.ndarray) -> dict:
    """n, mean, median, sd, min and max (None when empty)."""
    if len(values) == 0:
        return {"n": 0, "mean": None, "median": None, "sd": None, "min": None, "max": None}
    return {
        "n": len(values), "mean": float(values.mean()), "median": float(np.median(values)),
        "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()), "max": float(values.max()),
    }


def effect_sizes(fraud: np.ndarray, not_fraud: np.ndarray) -> dict:
    """Cohen's d (pooled SD), rank-biserial r and AUC of fraud vs not fraud; positive: fraud is larger."""
    from scipy.stats import mannwhitneyu

    n1, n2 = len(fraud), len(not_fraud)
    diff = float(fraud.mean() - not_fraud.mean())
    squares = float(((fraud - fraud.mean()) ** 2).sum() + ((not_fraud - not_fraud.mean()) ** 2).sum())
    pooled = math.sqrt(squares / (n1 + n2 - 2)) if n1 + n2 > 2 else 0.0
    if pooled > 0:
        d = diff / pooled
    else:
        d = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    u = mannwhitneyu(fraud, not_fraud, alternative="two-sided").statistic
    auc = float(u / (n1 * n2))  # how often a fraud record has the larger value (ties count half)
    return {"cohens_d": d, "rank_biserial": 2 * auc - 1, "auc": auc}


def instruction_id(text: str) -> str:
    """A short stable id of an instruction text, for reports and feature names."""
    return "#" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def surface_features(split: Split) -> tuple[np.ndarray, list[str]]:
    """Non-content features of each record: sizes, speaker-tag formats, line-ending style,
    punctuation, digits, instruction.

    Returns (x, names): x of shape (records, len(names)), float. `line_endings_<style>` is 1.0 when
    the input's lines end that way (fraudft.data.dialogue.LINE_ENDINGS), 0.0 otherwise or without a break.
    """
    instructions = Counter(r["instruction"] for r in split.records)
    top_instructions = [text for text, _ in instructions.most_common(10)]
    names = ["chars", "turns", "mean_line_chars", "speakers", "untagged_lines"]
    names += [f"tags_{fmt}" for fmt in SPEAKER_FORMATS]
    names += [f"line_endings_{style}" for style in LINE_ENDINGS]
    names += [f"count {p}" for p in PUNCTUATION] + ["digits"]
    if split.tokens is not None:
        names.append("tokens")
    if len(instructions) > 1:
        names += [f"instruction {instruction_id(t)}" for t in top_instructions]
    rows = []
    for i, (record, turns) in enumerate(zip(split.records, split.turns)):
        texts = [t for _, t in turns]
        body = "".join(texts)
        tags = list(dict.fromkeys(tag for tag, _ in turns if tag is not None))
        formats = Counter(speaker_format(t) for t in tags)
        line_lengths = [len(t) for t in texts] or [0]
        row = [len(record["input"]), len(turns), float(np.mean(line_lengths)), len(tags),
               sum(tag is None for tag, _ in turns)]
        row += [formats[fmt] / len(tags) if tags else 0.0 for fmt in SPEAKER_FORMATS]
        row += [float(split.line_endings[i] == style) for style in LINE_ENDINGS]
        row += [body.count(p) for p in PUNCTUATION]
        row.append(sum(c.isdigit() for c in body))
        if split.tokens is not None:
            row.append(split.tokens[i])
        if len(instructions) > 1:
            row += [float(record["instruction"] == t) for t in top_instructions]
        rows.append(row)
    return np.array(rows, dtype=float), names


def level_of(value: float, warn: float | None, fail: float | None = None) -> str:
    """fail when value reaches `fail`, warn when it reaches `warn`, info otherwise."""
    if fail is not None and value >= fail:
        return "fail"
    if warn is not None and value >= warn:
        return "warn"
    return "info"


def worst(*levels: str) -> str:
    return max(levels, key=LEVELS.index, default="info")


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_INVISIBLE = ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs")  # control, format, unassigned, separators


def escape(text: str) -> str:
    """`text` with nothing invisible: \\n, \\r and \\t as those escapes, a backslash doubled, other
    control, format, private-use and unassigned characters and separators (every space but " ", e.g.
    the ideographic space) as \\xNN, \\uNNNN or \\UNNNNNNNN. The one way the audit writes text it shows."""
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c != " " and unicodedata.category(c) in _INVISIBLE:
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(c)
    return "".join(out)


def show(text: str) -> str:
    """`text` escaped (see escape) in double quotes, a quote inside as \\": how reports show a snippet."""
    return '"' + escape(text).replace('"', '\\"') + '"'
