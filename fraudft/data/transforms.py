"""Data transforms that remove the shortcuts and leaks `fraudft audit` finds.

    fraudft mitigate train.jsonl eval.jsonl test.jsonl --neutralize-speakers --dedupe --out-dir clean/

    from fraudft.data.transforms import neutralize_speakers, drop_cross_split_duplicates, drop_shared_lines
    records, change = neutralize_speakers(records)
    records, change = drop_within_split_duplicates(records)   # keep the first copy; drop conflicting groups
    splits, change = drop_cross_split_duplicates(splits, keep="train")

Each transform returns new records (the input is left untouched) and a change report (a dict of
plain JSON types). In the CLI they run in the order neutralize, dedupe (inside each split, then
across splits), drop shared lines, so that inputs that differ only in how speakers are named count as
duplicates. `duplicate_groups` is the one definition of duplicates inside a split that the audit,
mitigate and `fraudft train`'s warnings share.
"""

from __future__ import annotations

import re

from fraudft.data.dialogue import LINE_BREAK, SPEAKER_LINE, normalize_input, speakers_of
from fraudft.data.leaks import LeakConfig, shared_line_leaks

__all__ = ["describe_change", "drop_cross_split_duplicates", "drop_shared_lines", "drop_within_split_duplicates",
           "duplicate_groups", "neutralize_speakers"]

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


def duplicate_groups(records: list[dict], keys: list[str] | None = None,
                     label_field: str = "label") -> tuple[list[list[int]], list[list[int]]]:
    """Records sharing an input key (normalize_input: NFKC, whitespace removed; `keys` when already
    computed), as groups of 0-based indices (two or more each, in order of their first member), and
    the groups among them whose labels (`label_field`: the task's) conflict. Empty inputs are never
    duplicates."""
    keys = [normalize_input(r["input"]) for r in records] if keys is None else keys
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            by_key.setdefault(key, []).append(i)
    groups = [g for g in by_key.values() if len(g) > 1]
    return groups, [g for g in groups if len({repr(records[i][label_field]) for i in g}) > 1]


def drop_within_split_duplicates(records: list[dict]) -> tuple[list[dict], dict]:
    """Remove the duplicates inside one split (duplicate_groups): of a group whose labels agree the
    first record is kept and the later ones dropped; a group whose labels conflict is dropped whole
    (which of its labels is right cannot be told). Numbers in the report are 1-based record numbers:
    `duplicates` [{"kept": N, "dropped": [M, ...]}], `conflicts` [[N, M, ...]] and every dropped one
    in `dropped_lines`."""
    groups, conflicting = duplicate_groups(records)
    conflict_set = {id(g) for g in conflicting}
    duplicates = [{"kept": g[0] + 1, "dropped": [i + 1 for i in g[1:]]} for g in groups if id(g) not in conflict_set]
    gone = {i for g in groups for i in (g if id(g) in conflict_set else g[1:])}
    out = [r for i, r in enumerate(records) if i not in gone]
    report = {"transform": "drop_within_split_duplicates", "before": len(records), "after": len(out),
              "dropped": len(gone), "duplicates": duplicates, "conflicts": [[i + 1 for i in g] for g in conflicting],
              "dropped_lines": sorted(i + 1 for i in gone)}
    return out, report


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
    if report["transform"] == "drop_within_split_duplicates":
        shown = lambda numbers: ", ".join(map(str, numbers[:20])) + (", ..." if len(numbers) > 20 else "")
        out = f"{report['before']} -> {report['after']} records ({report['dropped']} dropped)"
        if report["duplicates"]:
            pairs = [f"{n} (= {d['kept']})" for d in report["duplicates"] for n in d["dropped"]]
            out += f"; {len(pairs)} repeat(s) of an earlier record: {place}(s) {shown(pairs)}"
        if report["conflicts"]:
            out += (f"; {len(report['conflicts'])} group(s) with conflicting labels, dropped whole: {place}(s) "
                    + "; ".join(shown(g) for g in report["conflicts"][:10]) + ("; ..." if len(report["conflicts"]) > 10 else ""))
        return [out]
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
