"""Duplicates inside a split: the same input key (fraudft.data.dialogue.normalize_input: NFKC, whitespace
collapsed) in several records.

Warn when the repeats reach `within_duplicate_warn_share` of the split, or when a group's labels conflict.
"""

from __future__ import annotations

from collections import defaultdict

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, pct
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


def render_duplicates(figures: dict) -> list[str]:
    out = []
    if figures.get("examples"):
        out.append(f"groups ({figures['place']}s): " + "; ".join(",".join(map(str, g)) for g in figures["examples"][:10]))
    if figures.get("conflicting_examples"):
        out.append("conflicting labels: " + "; ".join(",".join(map(str, g)) for g in figures["conflicting_examples"][:10]))
    return out


@check("duplicates", title="Duplicates inside a split", render=render_duplicates)
def check_duplicates(split: Split, config: AuditConfig) -> Finding:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(split.keys):
        if key:
            groups[key].append(i)
    dup_groups = [g for g in groups.values() if len(g) > 1]
    conflicting = [g for g in dup_groups if len({bool(split.records[i]["label"]) for i in g}) > 1]
    extra = sum(len(g) - 1 for g in dup_groups)
    share = extra / len(split.records)
    figures = {
        "groups": len(dup_groups), "duplicate_records": extra, "share": share,
        "conflicting_groups": len(conflicting), "conflicting_records": sum(len(g) for g in conflicting),
        "examples": [[i + 1 for i in g] for g in dup_groups[: config.max_examples]],
        "conflicting_examples": [[i + 1 for i in g] for g in conflicting[: config.max_examples]],
        "place": split.place,  # how the 1-based numbers above name records: line, item or row
    }
    if not dup_groups:
        return Finding("duplicates", split.name, "info", "no duplicate inputs", figures)
    level = "warn" if conflicting or share >= config.within_duplicate_warn_share else "info"
    verdict = f"{extra} records ({pct(share)}) repeat an earlier input, in {len(dup_groups)} group(s)"
    if conflicting:
        verdict += f"; {len(conflicting)} group(s) with conflicting labels"
    return Finding("duplicates", split.name, level, verdict, figures)
