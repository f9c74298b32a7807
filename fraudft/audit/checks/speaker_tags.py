"""Speaker tags per class: the share of records with a speaker written in each format, per class.

A tag's format (numbered 发言人N, name, role word, other) is fraudft.dialogue.speaker_format; the
level follows the largest difference between the classes (`speaker_format_warn`/`_fail`).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import (
    CLASS_NAMES,
    SPEAKER_FORMATS,
    Split,
    level_of,
    pct,
    worst,
)
from fraudft.audit.registry import check
from fraudft.audit.report import Finding
from fraudft.dialogue import speaker_format

FORMAT_NAMES = {"numbered": "numbered (发言人N)", "name": "name-like", "role": "role-word", "other": "other"}


def render_speaker_tags(figures: dict) -> list[str]:
    if not figures:
        return []
    out = [f"{'format':22} {'fraud':>7} {'not fraud':>10} {'diff':>8}"]
    for fmt, f in figures["formats"].items():
        out.append(f"{FORMAT_NAMES[fmt]:22} {pct(f['fraud_share']):>7} {pct(f['not_fraud_share']):>10} "
                   f"{100 * f['difference']:+7.1f}")
    for name, tags in figures["top_tags"].items():
        out.append(f"most common tags, {name.replace('_', ' ')}: " + ", ".join(f"{t} {n}" for t, n in tags))
    if figures.get("untagged_lines"):
        out.append(f"lines without a speaker tag: {figures['untagged_lines']}")
    return out


@check("speaker_tags", title="Speaker tags per class", render=render_speaker_tags,
       needs_both_classes=True)
def check_speaker_tags(split: Split, config: AuditConfig) -> Finding:
    has = {fmt: np.zeros(len(split.records), dtype=bool) for fmt in SPEAKER_FORMATS}
    tag_counts = {True: Counter(), False: Counter()}
    untagged = 0
    for i, (turns, label) in enumerate(zip(split.turns, split.labels)):
        tags = dict.fromkeys(tag for tag, _ in turns if tag is not None)
        untagged += sum(tag is None for tag, _ in turns)
        tag_counts[bool(label)].update(list(tags))
        for tag in tags:
            has[speaker_format(tag)][i] = True
    formats, level, notes = {}, "info", []
    for fmt in SPEAKER_FORMATS:
        fraud, not_fraud = float(has[fmt][split.labels].mean()), float(has[fmt][~split.labels].mean())
        diff = fraud - not_fraud
        fmt_level = level_of(abs(diff), config.speaker_format_warn, config.speaker_format_fail)
        formats[fmt] = {"fraud_share": fraud, "not_fraud_share": not_fraud, "difference": diff, "level": fmt_level}
        level = worst(level, fmt_level)
        if fmt_level != "info":
            notes.append((abs(diff), f"{FORMAT_NAMES[fmt]} tags in {pct(fraud)} of fraud vs {pct(not_fraud)} of not-fraud records"))
    top = {CLASS_NAMES[label]: [[tag, n] for tag, n in counts.most_common(8)] for label, counts in tag_counts.items()}
    figures = {"formats": formats, "top_tags": top, "untagged_lines": untagged,
               "distinct_tags": {CLASS_NAMES[k]: len(v) for k, v in tag_counts.items()}}
    if notes:
        verdict = "; ".join(text for _, text in sorted(notes, reverse=True)) + ": how speakers are written predicts the label"
    else:
        biggest = max(formats.items(), key=lambda kv: abs(kv[1]["difference"]))
        verdict = (f"tag formats are written alike in both classes (largest difference: {biggest[0]} "
                   f"{100 * biggest[1]['difference']:+.1f} points)")
    return Finding("speaker_tags", split.name, level, verdict, figures)
