"""A commit's findings in words, each with what mitigates it: what `results table`, the bench's summary
and the report's headline say first.

    from fraudft.results.findings import findings, findings_text
    found = findings(records, summarize_arms(records), robustness_rows(records))  # [Found], shortcuts first
    print(findings_text(found))          # "findings:\n- what\n  fix: ..." ("" when nothing was found)

Three kinds, from what the records already hold (no new field):
- the audit's warn/fail findings (each record keeps its data's audit summary, written by the experiment
  layer: `[level] check split: verdict`, e.g. the speaker tags that mark a class with their shares, the
  surface probe's accuracy against the majority rate);
- the counterfactual test sets (`test:NAME` evaluations, fraudft.results.robustness): which set flips
  how many answers of which arm, with the 95% interval; a flip rate whose lower bound is above
  NOTABLE_FLIP_RATE is called a shortcut and given its fix;
- an untrained baseline (an arm whose `method` is neither "lora" nor "none") scoring at or above a
  trained arm (mean MCC over seeds, with intervals), both on the recipe's data as it is (arms that
  transform it, such as positives_only or a planted shortcut, are meant to score low): for the
  surface-feature probe, a shortcut a model can take without learning the task.

The fix of each audit check or counterfactual set is REMEDIES' (a fraudft.core.registry.Registry
keyed by the check's or the set's name): register one there for a new check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fraudft.core.registry import Registry
from fraudft.results.record import RunRecord

NOTABLE_FLIP_RATE = 0.05  # a counterfactual set moving more answers than this (95% lower bound) is a shortcut
METRIC = "mcc"  # the metric baselines and trained arms are compared on (the expectations' default)

_SPEAKERS = ("fraudft mitigate TRAIN EVAL TEST --out-dir DIR --neutralize-speakers (then train on DIR's files), "
             "or run the `shortcut_mitigated` arm: pytest bench --arms shortcut_mitigated")
REMEDIES: Registry[str] = Registry("remedy")
REMEDIES.add("speaker_tags", _SPEAKERS)
REMEDIES.add("neutralize_speakers", _SPEAKERS)
REMEDIES.add("swap_speaker_names", _SPEAKERS)
REMEDIES.add("probe", "fraudft audit TRAIN EVAL TEST names the surface features that carry it (speaker tags, "
                      "length, turns); for speaker tags: " + _SPEAKERS)
REMEDIES.add("surface_probe", REMEDIES["probe"])
REMEDIES.add("duplicates", "fraudft mitigate TRAIN EVAL TEST --out-dir DIR --dedupe")
REMEDIES.add("label_conflicts", "fraudft mitigate TRAIN EVAL TEST --out-dir DIR --dedupe (drops a conflicting group whole)")
REMEDIES.add("leakage", "fraudft mitigate TRAIN EVAL TEST --out-dir DIR --dedupe --drop-shared-lines")

_AUDIT_LINE = re.compile(r"^\[(?P<level>[^\]]+)\] (?P<check>\S+) (?P<split>\S*): (?P<verdict>.*)$", re.S)
_SERIOUS = ("fail", "warn")  # in this order


@dataclass(frozen=True)
class Found:
    """One finding: what was found, in words, and the command that mitigates it (None: no known fix)."""

    what: str
    fix: str | None = None
    level: str = "warn"  # "fail" sorts first


def audit_findings(records: list[RunRecord]) -> list[Found]:
    """The warn/fail findings of the audit summaries the records keep, one per (check, level), its
    splits' verdicts together; the arms are named when not every record's data had it."""
    by_check: dict[tuple[str, str], dict] = {}
    with_audit = [r for r in records if isinstance(r.audit, dict)]
    for r in with_audit:
        for line in r.audit.get("findings") or []:
            match = _AUDIT_LINE.match(str(line))
            if not match or match["level"] not in _SERIOUS:
                continue
            entry = by_check.setdefault((match["check"], match["level"]), {"verdicts": {}, "arms": {}})
            entry["verdicts"].setdefault(match["split"] or "across splits", match["verdict"])
            entry["arms"][f"{r.recipe}/{r.arm}"] = None
    every = {f"{r.recipe}/{r.arm}" for r in with_audit}
    out = []
    for (check, level), entry in by_check.items():
        where = "" if set(entry["arms"]) == every else f" (the data of {', '.join(entry['arms'])})"
        verdicts = "; ".join(f"{split}: {verdict}" for split, verdict in entry["verdicts"].items())
        out.append(Found(f"the audit's {check} check ({level.upper()}){where}: {verdicts}", REMEDIES.get(check), level))
    return out


def _interval(figures: dict) -> str:
    return f"{figures['value']:.3f}" + ("" if figures.get("low") is None else f" [{figures['low']:.3f}, {figures['high']:.3f}]")


def flip_findings(robustness: list[dict], records: list[RunRecord]) -> list[Found]:
    """Per (recipe, arm, counterfactual set) and seed, the share of answers the set flipped with its 95%
    interval (robustness_rows); a shortcut, with its fix, where the lower bound is above NOTABLE_FLIP_RATE
    and the arm trained on the data as it is (an arm trained on a planted shortcut is meant to take it:
    its flips are said, without a fix)."""
    transforms = {(r.recipe, r.arm): list(r.arm_config.get("train_data") or []) for r in records}
    out = []
    for row in sorted((r for r in robustness if not r.get("undefined")), key=lambda r: -r["flip_rate"]["value"]):
        flip = row["flip_rate"]
        notable = flip["low"] is not None and flip["low"] > NOTABLE_FLIP_RATE
        what = (f"{row['recipe']}/{row['arm']} seed {row['seed']} flips {_interval(flip)} of its answers "
                f"({flip['flips']} of {flip['n'] * flip['seeds']}) on the {row['set']} counterfactual test set")
        planted = transforms.get((row["recipe"], row["arm"]))
        if notable and not planted:
            out.append(Found(what + f": its answers follow what {row['set']} changes, a shortcut",
                             REMEDIES.get(row["set"]), "fail"))
        elif notable:
            out.append(Found(what + f" (it trains on data transformed by {', '.join(planted)})", None, "info"))
        else:
            out.append(Found(what + f" (not above {NOTABLE_FLIP_RATE:.0%}: no shortcut shown there)", None, "info"))
    return out


def _method(runs: list[RunRecord]) -> str:
    config = runs[0].arm_config
    return config.get("method") or ("lora" if config.get("lora") or config.get("train") == "lora" else "none")


def _data_as_is(runs: list[RunRecord]) -> bool:
    """Whether the arm trains and tests on the recipe's data as it is (no train_data / test_data
    transform): only such arms say what the data lets a model learn (positives_only or a planted
    shortcut are meant to score low)."""
    return not any(r.arm_config.get("train_data") or r.arm_config.get("test_data") for r in runs)


def baseline_findings(summaries: list[dict]) -> list[Found]:
    """An untrained baseline scoring at or above trained arms on METRIC (mean over seeds, 95% interval),
    per recipe, one finding per baseline listing those arms; arms and baselines that transform their
    data are left out (_data_as_is)."""
    out = []
    for recipe in dict.fromkeys(s["backend"] for s in summaries):
        arms = [s for s in summaries if s["backend"] == recipe and s["ok"] and _data_as_is(s["records"])
                and s["metrics"].get(METRIC, {}).get("mean") is not None]
        kinds = {s["arm"]: _method(s["records"]) for s in arms}
        trained = [s for s in arms if kinds[s["arm"]] == "lora"]
        for base in (s for s in arms if kinds[s["arm"]] not in ("lora", "none")):
            value = base["metrics"][METRIC]
            beaten = [s for s in trained if s["metrics"][METRIC]["mean"] <= value["mean"]]
            if not beaten:
                continue
            names = ", ".join(f"{s['arm']} ({_interval({**s['metrics'][METRIC], 'value': s['metrics'][METRIC]['mean']})})"
                              for s in beaten)
            head = (f"{recipe}: the baseline {base['arm']} ({METRIC} {_interval({**value, 'value': value['mean']})}) "
                    f"scores at or above {len(beaten)} trained arm(s): {names}")
            if kinds[base["arm"]] == "surface_probe":
                best = max(beaten, key=lambda s: s["metrics"][METRIC]["mean"])  # the strongest arm it beats
                out.append(Found(head + f": {base['arm']} beats {best['arm']}: the data has a shortcut a model can take "
                                        "(surface features only: sizes, speaker-tag formats, punctuation)",
                                 REMEDIES.get("surface_probe"), "fail"))
            else:
                out.append(Found(head + ": those arms learned no more than the untrained answer", None, "fail"))
    return out


def findings(records: list[RunRecord], summaries: list[dict], robustness: list[dict]) -> list[Found]:
    """Every finding of these records, the shortcuts (fail) first, from their audit summaries, their
    arms' `summaries` (table.summarize_arms) and their `robustness` rows (robustness.robustness_rows),
    which every caller has already computed for its own table."""
    found = audit_findings(records) + baseline_findings(summaries) + flip_findings(robustness, records)
    order = {"fail": 0, "warn": 1, "info": 2}
    return sorted(found, key=lambda f: order.get(f.level, 1))  # stable: each kind's own order kept


def findings_text(found: list[Found], title: str = "findings") -> str:
    """`title:` then one `- what` line per finding with its `  fix: command` line; "" for none."""
    if not found:
        return ""
    lines = [f"{title}:"]
    for f in found:
        lines.append(f"- {f.what}")
        if f.fix:
            lines.append(f"  fix: {f.fix}")
    return "\n".join(lines)
