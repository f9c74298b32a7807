"""Length and turns per class: how far one number alone separates fraud from not-fraud records.

Warn when |Cohen's d| reaches `effect_size_warn` or |rank-biserial r| reaches `rank_biserial_warn`.
Length counts characters, and tokens when the audit has a tokenizer.
"""

from __future__ import annotations

import math

import numpy as np

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, describe, effect_sizes, worst
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


def render_effect(figures: dict) -> list[str]:
    out = []
    for measure, f in figures.items():
        cells = []
        for name in ("fraud", "not_fraud"):
            s = f[name]
            if s["n"]:
                cells.append(f"{name.replace('_', ' ')}: mean {s['mean']:.1f}, median {s['median']:.0f}, "
                             f"sd {s['sd']:.1f}, range {s['min']:.0f}-{s['max']:.0f}")
        d = f["cohens_d"]
        d_text = f"Cohen's d {d:+.2f}, " if d is not None and math.isfinite(d) else ""
        cells.append(f"{d_text}rank-biserial {f['rank_biserial']:+.2f}, AUC {f['auc']:.2f}")
        out.append(f"{measure + ':':7} " + " | ".join(cells))
    return out


def effect_finding(name: str, split: Split, measures: dict[str, np.ndarray], config: AuditConfig) -> Finding:
    figures, level, parts = {}, "info", []
    for measure, values in measures.items():
        fraud, not_fraud = values[split.labels], values[~split.labels]
        effect = effect_sizes(fraud, not_fraud)
        measure_level = "warn" if (
            abs(effect["cohens_d"]) >= config.effect_size_warn
            or abs(effect["rank_biserial"]) >= config.rank_biserial_warn
        ) else "info"
        figures[measure] = {"fraud": describe(fraud), "not_fraud": describe(not_fraud), **effect,
                            "level": measure_level}
        level = worst(level, measure_level)
        d = effect["cohens_d"]
        size = "large" if abs(d) >= 0.8 else "medium" if abs(d) >= 0.5 else "small" if abs(d) >= 0.2 else "negligible"
        parts.append(
            f"{measure} mean {fraud.mean():.1f} fraud vs {not_fraud.mean():.1f} not fraud "
            f"(d={d:+.2f}, r={effect['rank_biserial']:+.2f}, {size})"
        )
    verdict = "; ".join(parts) + (": the classes differ enough for a model to use it" if level == "warn" else "")
    return Finding(name, split.name, level, verdict, figures)


@check("length", title="Length per class", render=render_effect, needs_both_classes=True)
def check_length(split: Split, config: AuditConfig) -> Finding:
    measures = {"chars": split.chars}
    if split.tokens is not None:
        measures["tokens"] = split.tokens
    return effect_finding("length", split, measures, config)


@check("turns", title="Turns per class", render=render_effect, needs_both_classes=True)
def check_turns(split: Split, config: AuditConfig) -> Finding:
    return effect_finding("turns", split, {"turns": split.n_turns}, config)
