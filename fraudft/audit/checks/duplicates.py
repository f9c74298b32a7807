"""Duplicates inside a split: the same input key (fraudft.data.dialogue.normalize_input: NFKC, whitespace
collapsed) in several records (fraudft.data.transforms.duplicate_groups, which `fraudft mitigate --dedupe`
removes).

Fail when a group's labels conflict (one of them is wrong, and the model is trained or scored against
it, as label_conflicts fails across splits); warn when the repeats reach `within_duplicate_warn_share`
of the split.
"""

from __future__ import annotations

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, pct
from fraudft.audit.registry import check
from fraudft.audit.report import Finding
from fraudft.data.transforms import duplicate_groups


def render_duplicates(figures: dict) -> list[str]:
    out = []
    if figures.get("examples"):
        out.append(f"groups ({figures['place']}s): " + "; ".join(",".join(map(str, g)) for g in figures["examples"][:10]))
    if figures.get("conflicting_examples"):
        out.append(f"conflicting labels ({figures['place']}s): " + "; ".join(",".join(map(str, g)) for g in figures["conflicting_examples"][:10]))
    return out


@check("duplicates", title="Duplicates inside a split", render=render_duplicates)
def check_duplicates(split: Split, config: AuditConfig) -> Finding:
    dup_groups, conflicting = duplicate_groups(split.records, split.keys)
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
    level = "fail" if conflicting else "warn" if share >= config.within_duplicate_warn_share else "info"
    verdict = f"{extra} records ({pct(share)}) repeat an earlier input, in {len(dup_groups)} group(s)"
    if conflicting:
        shown = "; ".join(",".join(str(i + 1) for i in g) for g in conflicting[:3]) + ("; ..." if len(conflicting) > 3 else "")
        verdict += (f"; {len(conflicting)} group(s) with conflicting labels ({split.place}s {shown}): "
                    "fraudft mitigate --dedupe drops them")
    return Finding("duplicates", split.name, level, verdict, figures)
