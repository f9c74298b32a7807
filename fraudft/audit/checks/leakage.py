"""Leakage between splits: for every pair, the same input, or the same meaningful line, in both.

Inputs and lines are compared by key (fraudft.data.dialogue.normalize_input: NFKC, whitespace removed),
so a copy rewritten with ASCII punctuation for full-width is still a copy; examples show the line as
written. Copies with opposite labels are the label_conflicts check's.

A meaningful line has at least `line_min_chars` characters without its speaker tag and is not
formulaic (a template or boilerplate line, see fraudft.data.leaks); formulaic shared lines are counted apart.
Any duplicated input warns, `duplicate_fail_share` of a split fails; shared lines follow
`shared_line_warn_share`/`_fail_share`.
"""

from __future__ import annotations

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, level_of, pct, show, worst
from fraudft.audit.registry import check
from fraudft.audit.report import Finding
from fraudft.data.leaks import shared_line_leaks


def render_leakage(figures: dict) -> list[str]:
    out = []
    for name in figures["pair"]:
        f = figures[name]
        out.append(
            f"{name}: {f['duplicated']} of {f['records']} duplicated ({pct(f['duplicated_share'])}); "
            f"{f['sharing_line']} share a meaningful line ({pct(f['sharing_line_share'])}); "
            f"{f['sharing_any_line']} share any line of that length, formulaic ones included"
        )
    out.append(f"distinct shared lines: {figures['shared_lines']} meaningful, {figures['formulaic_shared_lines']} formulaic;"
               f" distinct duplicated inputs: {figures['duplicate_inputs']}")
    if figures["examples"]:
        out.append("e.g. " + " | ".join(show(line) for line in figures["examples"][:3]))
    return out


@check("leakage", title="Leakage between splits", render=render_leakage, scope="splits")
def check_leakage(prepared: dict[str, Split], config: AuditConfig) -> list[Finding]:
    splits = {name: split.records for name, split in prepared.items()}
    names = list(splits)
    if len(names) < 2:
        return []
    keys = {name: split.keys for name, split in prepared.items()}
    key_sets = {name: {k for k in ks if k} for name, ks in keys.items()}
    leaks = shared_line_leaks(splits, config.leaks)
    lines, formulaic, originals = leaks["lines"], leaks["formulaic"], leaks["originals"]
    per_split_lines = {name: set().union(*sets) if sets else set() for name, sets in lines.items()}
    findings = []
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            figures: dict = {"pair": [a, b], "places": {a: prepared[a].place, b: prepared[b].place}}  # *_lines: 1-based
            shares = []
            for this, other in ((a, b), (b, a)):
                n = len(splits[this])
                dup_lines = [i + 1 for i, k in enumerate(keys[this]) if k and k in key_sets[other]]
                common = per_split_lines[this] & per_split_lines[other]
                meaningful = common - formulaic
                sharing = [i + 1 for i, s in enumerate(lines[this]) if s & meaningful]
                sharing_any = sum(1 for s in lines[this] if s & common)
                figures[this] = {
                    "records": n,
                    "duplicated": len(dup_lines), "duplicated_share": len(dup_lines) / n,
                    "duplicated_lines": dup_lines[: config.max_examples],
                    "sharing_line": len(sharing), "sharing_line_share": len(sharing) / n,
                    "sharing_lines": sharing[: config.max_examples],
                    "sharing_any_line": sharing_any, "sharing_any_line_share": sharing_any / n,
                }
                shares.append((len(dup_lines) / n, len(sharing) / n))
            common = per_split_lines[a] & per_split_lines[b]
            meaningful = sorted(common - formulaic)
            figures["shared_lines"] = len(meaningful)
            figures["formulaic_shared_lines"] = len(common) - len(meaningful)
            figures["duplicate_inputs"] = len(key_sets[a] & key_sets[b])
            figures["examples"] = [originals[line][:60] for line in meaningful[: min(5, config.max_examples)]]
            dup_share = max(s[0] for s in shares)
            line_share = max(s[1] for s in shares)
            level = worst(
                "fail" if dup_share >= config.duplicate_fail_share else "warn" if dup_share > 0 else "info",
                level_of(line_share, config.shared_line_warn_share, config.shared_line_fail_share),
            )
            fa, fb = figures[a], figures[b]
            verdict = (
                f"{fa['duplicated']} {a} ({pct(fa['duplicated_share'])}) and {fb['duplicated']} {b} "
                f"({pct(fb['duplicated_share'])}) inputs also in the other split; {fa['sharing_line']} {a} "
                f"({pct(fa['sharing_line_share'])}) and {fb['sharing_line']} {b} ({pct(fb['sharing_line_share'])}) "
                f"records share a meaningful line (>= {config.line_min_chars} chars, not formulaic)"
            )
            verdict += {"fail": ": substantial leakage", "warn": ": some leakage", "info": ": no leakage"}[level]
            findings.append(Finding("leakage", None, level, verdict, figures))
    return findings
