"""Label conflicts across splits: the same input in two splits with opposite labels.

Inputs are compared by key (fraudft.data.dialogue.normalize_input: NFKC, whitespace removed), as in the
leakage check, which counts such copies among its duplicates. A copy with the other label is worse
than a leak: one of the two labels is wrong, and a model is trained or scored against it. Any such
pair fails (as does a conflict inside one split: the duplicates check). Figures name both records by split and 1-based record number, with each split's
place word (line, item or row), e.g.
{"pair": ["train", "test"], "conflicts": 1, "records": {"train": 1, "test": 1},
 "examples": [{"train": 31, "test": 5, "train_label": "fraud", "test_label": "not_fraud"}],
 "places": {"train": "line", "test": "row"}}.
"""

from __future__ import annotations

from collections import defaultdict

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import CLASS_NAMES, Split
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


def _describe(pair: list[str], example: dict, places: dict) -> str:
    a, b = pair
    return (f"{a} {places[a]} {example[a]} ({example[a + '_label'].replace('_', ' ')}) = "
            f"{b} {places[b]} {example[b]} ({example[b + '_label'].replace('_', ' ')})")


def render_label_conflicts(figures: dict) -> list[str]:
    examples = figures.get("examples", [])
    if not examples:
        return []
    more = figures["conflicts"] - len(examples)
    return ["; ".join(_describe(figures["pair"], e, figures["places"]) for e in examples) + (f"; ... ({more} more)" if more else "")]


def conflicts_between(a: Split, b: Split) -> list[tuple[int, int]]:
    """(index in a, index in b), 0-based, of every pair of records with the same non-empty key and
    opposite labels, in order of a's records, then b's."""
    in_b: dict[str, list[int]] = defaultdict(list)
    for j, key in enumerate(b.keys):
        if key:
            in_b[key].append(j)
    return [(i, j) for i, key in enumerate(a.keys) if key for j in in_b.get(key, ())
            if bool(a.labels[i]) != bool(b.labels[j])]


@check("label_conflicts", title="Label conflicts across splits", render=render_label_conflicts, scope="splits")
def check_label_conflicts(prepared: dict[str, Split], config: AuditConfig) -> list[Finding]:
    names = list(prepared)
    findings = []
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            pairs = conflicts_between(prepared[a], prepared[b])
            examples = [{a: i + 1, b: j + 1, f"{a}_label": CLASS_NAMES[bool(prepared[a].labels[i])],
                         f"{b}_label": CLASS_NAMES[bool(prepared[b].labels[j])]} for i, j in pairs[: config.max_examples]]
            figures = {"pair": [a, b], "conflicts": len(pairs),
                       "records": {a: len({i for i, _ in pairs}), b: len({j for _, j in pairs})}, "examples": examples,
                       "places": {a: prepared[a].place, b: prepared[b].place}}
            if not pairs:
                findings.append(Finding("label_conflicts", None, "info", "no input in both splits with opposite labels", figures))
                continue
            shown = "; ".join(_describe([a, b], e, figures["places"]) for e in examples[:3]) + ("; ..." if len(pairs) > 3 else "")
            verdict = (f"{len(pairs)} input(s) in both splits with opposite labels ({figures['records'][a]} {a} and "
                       f"{figures['records'][b]} {b} records): {shown}")
            findings.append(Finding("label_conflicts", None, "fail", verdict, figures))
    return findings
