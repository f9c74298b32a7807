"""How dialogues are written, per class: speaker-tag formats and line endings.

Speaker tags: the share of records with a speaker written in each format (numbered 发言人N, name,
role word, other: fraudft.data.dialogue.speaker_format). Line endings: the share of multi-line records
whose lines end in each style (lf, crlf, cr, mixed: fraudft.data.dialogue.line_ending_style), so that
single-line records, a matter of turns, do not count (nor line endings at all when a class has no
multi-line record). The level follows the largest difference
between the classes in either (`speaker_format_warn`/`_fail`, in points of share).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import (
    CLASS_NAMES,
    SPEAKER_FORMATS,
    Split,
    escape,
    level_of,
    pct,
    worst,
)
from fraudft.audit.registry import check
from fraudft.audit.report import Finding
from fraudft.data.dialogue import LINE_ENDINGS, speaker_format

FORMAT_NAMES = {"numbered": "numbered (发言人N)", "name": "name-like", "role": "role-word", "other": "other"}
ENDING_NAMES = {"lf": "LF (\\n)", "crlf": "CRLF (\\r\\n)", "cr": "CR (\\r)", "mixed": "mixed"}


def render_speaker_tags(figures: dict) -> list[str]:
    if not figures:
        return []
    out = [f"{'format':22} {'fraud':>7} {'not fraud':>10} {'diff':>8}"]
    for fmt, f in figures["formats"].items():
        out.append(f"{FORMAT_NAMES[fmt]:22} {pct(f['fraud_share']):>7} {pct(f['not_fraud_share']):>10} "
                   f"{100 * f['difference']:+7.1f}")
    endings = figures.get("line_endings", {})
    counts = endings.get("multi_line_records", {})
    if counts:
        out.append(f"{'line endings':22} {'fraud':>7} {'not fraud':>10} {'diff':>8}   "
                   f"(of {counts['fraud']} fraud and {counts['not_fraud']} not-fraud multi-line records)")
    for style, f in endings.get("styles", {}).items():
        out.append(f"{ENDING_NAMES[style]:22} {pct(f['fraud_share']):>7} {pct(f['not_fraud_share']):>10} "
                   f"{100 * f['difference']:+7.1f}")
    for name, tags in figures["top_tags"].items():
        out.append(f"most common tags, {name.replace('_', ' ')}: " + ", ".join(f"{escape(t)} {n}" for t, n in tags))
    if figures.get("untagged_lines"):
        out.append(f"lines without a speaker tag: {figures['untagged_lines']}")
    return out


def share_differences(has: dict[str, np.ndarray], labels: np.ndarray, names: dict[str, str], what: str,
                      config: AuditConfig) -> tuple[dict, str, list[tuple[float, str]]]:
    """Per key of `has` (a bool per record of `labels`): the share of fraud and of not-fraud records
    with it, their difference, and its level; the worst level; and (|difference|, note) per flagged key."""
    shares, level, notes = {}, "info", []
    for key, mask in has.items():
        fraud = float(mask[labels].mean()) if labels.any() else 0.0
        not_fraud = float(mask[~labels].mean()) if (~labels).any() else 0.0
        diff = fraud - not_fraud
        key_level = level_of(abs(diff), config.speaker_format_warn, config.speaker_format_fail)
        shares[key] = {"fraud_share": fraud, "not_fraud_share": not_fraud, "difference": diff, "level": key_level}
        level = worst(level, key_level)
        if key_level != "info":
            notes.append((abs(diff), f"{names[key]} {what} in {pct(fraud)} of fraud vs {pct(not_fraud)} of not-fraud records"))
    return shares, level, notes


@check("speaker_tags", title="Speaker tags and line endings per class", render=render_speaker_tags,
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
    formats, level, notes = share_differences(has, split.labels, FORMAT_NAMES, "tags", config)
    endings = np.array(split.line_endings, dtype=object)
    multi = endings != None  # noqa: E711 (elementwise)
    both = (multi & split.labels).any() and (multi & ~split.labels).any()  # else nothing to compare
    styles = {style: endings[multi] == style for style in LINE_ENDINGS if both and (endings == style).any()}
    ending_shares, ending_level, ending_notes = share_differences(
        styles, split.labels[multi], ENDING_NAMES, "line endings", config)
    level, notes = worst(level, ending_level), notes + ending_notes
    top = {CLASS_NAMES[label]: [[tag, n] for tag, n in counts.most_common(8)] for label, counts in tag_counts.items()}
    figures = {"formats": formats, "top_tags": top, "untagged_lines": untagged,
               "distinct_tags": {CLASS_NAMES[k]: len(v) for k, v in tag_counts.items()},
               "line_endings": {"multi_line_records": {"fraud": int((multi & split.labels).sum()),
                                                       "not_fraud": int((multi & ~split.labels).sum())},
                                "styles": ending_shares}}
    if notes:
        verdict = "; ".join(text for _, text in sorted(notes, reverse=True)) + ": how dialogues are written predicts the label"
    else:
        biggest = max(formats.items(), key=lambda kv: abs(kv[1]["difference"]))
        verdict = (f"tag formats are written alike in both classes (largest difference: {biggest[0]} "
                   f"{100 * biggest[1]['difference']:+.1f} points)")
        if len(ending_shares) > 1:
            verdict += "; line endings alike"
    return Finding("speaker_tags", split.name, level, verdict, figures)
