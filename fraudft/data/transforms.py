"""Data transforms that remove the shortcuts and leaks `fraudft audit` finds.

    fraudft mitigate train.jsonl eval.jsonl test.jsonl --neutralize-speakers --dedupe --out-dir clean/

    from fraudft.data.transforms import neutralize_speakers, drop_cross_split_duplicates, drop_shared_lines
    records, change = neutralize_speakers(records)
    splits, change = drop_cross_split_duplicates(splits, keep="train")

Each transform returns new records (the input is left untouched) and a change report (a dict of
plain JSON types). In the CLI they run in the order neutralize, dedupe, drop shared lines, so that
inputs that differ only in how speakers are named count as duplicates.
"""

from __future__ import annotations

import re

from fraudft.data.dialogue import LINE_BREAK, SPEAKER_LINE, normalize_input, speakers_of
from fraudft.data.leaks import LeakConfig, shared_line_leaks

__all__ = ["describe_change", "drop_cross_split_duplicates", "drop_shared_lines", "neutralize_speakers"]

NEUTRAL_PREFIX = "发言人"


def neutralize_speakers(records: list[dict], prefix: str = NEUTRAL_PREFIX) -> tuple[list[dict], dict]:
    """Rename each dialogue's speakers `{prefix}1`, `{prefix}2`, ... in order of first appearance.

    `fraud_speaker` is renamed with the same map. Lines without a speaker tag, and names mentioned
    inside the text, are left as they are. A non-empty fraud_speaker that is not among the
    dialogue's speakers is kept unchanged and its record line (1-based) is reported. Line endings
    (\\r\\n, \\r, \\n) are kept as written.
    """
    if not isinstance(prefix, str) or not prefix.strip() or ":" in prefix or "：" in prefix:
        raise ValueError(f"prefix: got {prefix!r}, expected a non-empty tag prefix without a colon")
    out, changed, fraud_mapped, not_found = [], 0, 0, []
    tags_before, tags_after = set(), set()
    for i, record in enumerate(records):
        mapping = {tag: f"{prefix}{k}" for k, tag in enumerate(speakers_of(record["input"]), start=1)}
        tags_before |= set(mapping)
        tags_after |= set(mapping.values())
        parts = re.split(f"({LINE_BREAK.pattern})", record["input"])  # lines at even places, their breaks between
        for k in range(0, len(parts), 2):
            match = SPEAKER_LINE.match(parts[k]) if parts[k].strip() else None
            if match and match["tag"].strip():
                parts[k] = match["lead"] + mapping[match["tag"].strip()] + match["sep"] + match["text"]
        new = {**record, "input": "".join(parts)}
        speaker = record["fraud_speaker"].strip()
        if speaker:
            if speaker in mapping:
                new["fraud_speaker"] = mapping[speaker]
                fraud_mapped += 1
            else:
                not_found.append(i + 1)
        changed += new["input"] != record["input"] or new["fraud_speaker"] != record["fraud_speaker"]
        out.append(new)
    report = {
        "transform": "neutralize_speakers",
        "records": len(records),
        "records_changed": changed,
        "distinct_tags_before": len(tags_before),
        "distinct_tags_after": len(tags_after),
        "fraud_speaker_renamed": fraud_mapped,
        "fraud_speaker_not_found": not_found,
    }
    return out, report


def _check_keep(splits: dict[str, list[dict]], keep: str) -> None:
    if not isinstance(splits, dict) or not splits:
        raise ValueError("splits: expected a non-empty dict of split name -> list of records")
    if keep not in splits:
        raise ValueError(f"keep: got {keep!r}, expected one of the splits ({', '.join(splits)})")


def drop_cross_split_duplicates(splits: dict[str, list[dict]], keep: str = "train") -> tuple[dict[str, list[dict]], dict]:
    """Remove from the other splits the records whose input key (fraudft.data.dialogue.normalize_input:
    NFKC, whitespace removed) also occurs in `keep`: the duplicates the audit reports.

    Empty inputs are never treated as duplicates. The kept split is returned unchanged.
    """
    _check_keep(splits, keep)
    kept = {normalize_input(r["input"]) for r in splits[keep]} - {""}
    out, report = {}, {"transform": "drop_cross_split_duplicates", "keep": keep, "splits": {}}
    for name, records in splits.items():
        if name == keep:
            out[name] = list(records)
            report["splits"][name] = {"before": len(records), "after": len(records), "dropped": 0, "dropped_lines": []}
            continue
        dropped = [i for i, r in enumerate(records) if normalize_input(r["input"]) in kept]
        gone = set(dropped)
        out[name] = [r for i, r in enumerate(records) if i not in gone]
        report["splits"][name] = {"before": len(records), "after": len(out[name]), "dropped": len(dropped),
                                  "dropped_lines": [i + 1 for i in dropped]}
    return out, report


def drop_shared_lines(
    splits: dict[str, list[dict]], keep: str = "train", config: LeakConfig = LeakConfig()
) -> tuple[dict[str, list[dict]], dict]:
    """Remove from the other splits the records sharing a meaningful line with `keep`.

    A meaningful line is what the audit's leakage check counts: at least `config.line_min_chars`
    characters once the speaker tag is stripped, and not formulaic (see fraudft.data.leaks).
    """
    _check_keep(splits, keep)
    leaks = shared_line_leaks(splits, config)
    kept_lines = set().union(*leaks["lines"][keep]) - leaks["formulaic"]
    out, report = {}, {"transform": "drop_shared_lines", "keep": keep, "splits": {}}
    for name, records in splits.items():
        if name == keep:
            dropped = []
        else:
            dropped = [i for i, lines in enumerate(leaks["lines"][name]) if lines & kept_lines]
        gone = set(dropped)
        out[name] = [r for i, r in enumerate(records) if i not in gone]
        report["splits"][name] = {"before": len(records), "after": len(out[name]), "dropped": len(dropped),
                                  "dropped_lines": [i + 1 for i in dropped]}
    return out, report


def describe_change(report: dict, place: str = "line") -> list[str]:
    """Lines for people: what a transform's change report says. `place` names the records whose
    1-based numbers it lists: "line" (JSONL), "item" or "row" (fraudft.data.loading.place_word)."""
    if report["transform"] == "neutralize_speakers":
        not_found = report["fraud_speaker_not_found"]
        return [
            f"{report['records_changed']} of {report['records']} records changed; distinct speaker tags "
            f"{report['distinct_tags_before']} -> {report['distinct_tags_after']}; fraud_speaker renamed in "
            f"{report['fraud_speaker_renamed']}"
            + (f", not among the speakers (kept as is) in {len(not_found)}: {place}(s) "
               f"{', '.join(map(str, not_found[:20]))}{', ...' if len(not_found) > 20 else ''}" if not_found else "")
        ]
    return [
        f"{name}: {s['before']} -> {s['after']} records ({s['dropped']} dropped)"
        + (" [kept split]" if name == report["keep"] else "")
        for name, s in report["splits"].items()
    ]
