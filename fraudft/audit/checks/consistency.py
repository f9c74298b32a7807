"""Inconsistent records: empty inputs, and fraud speakers that disagree with the label or the dialogue.

Figures list the 1-based record numbers of each kind (under "lines", whatever the format) and how
the split names its records (`place`: line, item or row); any inconsistent record is a warn.
"""

from __future__ import annotations

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


def render_consistency(figures: dict) -> list[str]:
    out = []
    for kind, f in figures.items():
        if isinstance(f, dict) and f["count"]:
            lines = ", ".join(map(str, f["lines"][:20])) + (", ..." if f["count"] > 20 else "")
            out.append(f"{kind.replace('_', ' ')}: {f['count']} at {figures['place']}(s) {lines}")
    return out


@check("consistency", title="Inconsistent records", render=render_consistency)
def check_consistency(split: Split, config: AuditConfig) -> Finding:
    issues = {"empty_input": [], "false_with_fraud_speaker": [], "true_without_fraud_speaker": [],
              "fraud_speaker_not_in_dialogue": []}
    for i, (record, turns) in enumerate(zip(split.records, split.turns)):
        line, speaker = i + 1, record["fraud_speaker"].strip()
        if not record["input"].strip():
            issues["empty_input"].append(line)
        if not record["label"] and speaker:
            issues["false_with_fraud_speaker"].append(line)
        if record["label"] and not speaker:
            issues["true_without_fraud_speaker"].append(line)
        if speaker and speaker not in {tag for tag, _ in turns}:
            issues["fraud_speaker_not_in_dialogue"].append(line)
    figures = {kind: {"count": len(lines), "lines": lines} for kind, lines in issues.items()}
    figures["place"] = split.place
    found = {kind: len(lines) for kind, lines in issues.items() if lines}
    if not found:
        return Finding("consistency", split.name, "info", "no inconsistent records", figures)
    text = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in found.items())
    return Finding("consistency", split.name, "warn", text, figures)
