"""Instruction texts per class: an instruction found in one class only gives the label away.

Fail when such records reach `instruction_fail_share` of the split, warn below it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, instruction_id, pct, show
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


def render_instruction(figures: dict) -> list[str]:
    out = []
    for row in figures.get("instructions", [])[:10]:
        only = f"  ONLY IN {row['only_in'].replace('_', ' ').upper()}" if row["only_in"] else ""
        out.append(f"{row['id']} fraud {row['fraud']}, not fraud {row['not_fraud']}: {show(row['text'][:50])}{only}")
    return out


@check("instruction", title="Instruction texts per class", render=render_instruction,
       needs_both_classes=True)
def check_instruction(split: Split, config: AuditConfig) -> Finding:
    counts: dict[str, Counter] = defaultdict(Counter)
    for record in split.records:
        counts[record["instruction"]][bool(record["label"])] += 1
    rows, exclusive = [], 0
    for text, c in sorted(counts.items(), key=lambda kv: -sum(kv[1].values())):
        only = None
        if c[True] and not c[False]:
            only = "fraud"
        elif c[False] and not c[True]:
            only = "not_fraud"
        if only:
            exclusive += c[True] + c[False]
        rows.append({"id": instruction_id(text), "text": text, "fraud": c[True], "not_fraud": c[False], "only_in": only})
    share = exclusive / len(split.records)
    figures = {"distinct": len(rows), "exclusive_records": exclusive, "exclusive_share": share,
               "instructions": rows[: config.max_examples]}
    if len(rows) == 1:
        return Finding("instruction", split.name, "info", "one instruction text for both classes", figures)
    if exclusive == 0:
        return Finding("instruction", split.name, "info", f"{len(rows)} instruction texts, each used in both classes", figures)
    level = "fail" if share >= config.instruction_fail_share else "warn"
    by_class = [row for row in rows if row["only_in"]]
    verdict = (f"{len(by_class)} of {len(rows)} instruction texts occur in one class only ({exclusive} records, "
               f"{pct(share)}): the instruction alone gives the label away")
    return Finding("instruction", split.name, level, verdict, figures)
