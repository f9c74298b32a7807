"""Audit data splits for label shortcuts, leakage between splits and inconsistent records.

    fraudft audit train.jsonl eval.jsonl test.jsonl            # a report for people
    fraudft audit eval.jsonl --json --tokenizer none           # a dict for machines, no token counts
    fraudft audit train.jsonl eval.jsonl --fail-on warn        # exit 1 on warnings too

    from fraudft.audit import AuditConfig, audit
    report = audit({"train": train, "eval": eval_}, AuditConfig(), tokenizer=None)
    report.worst_level, report.to_text(), report.to_dict()

Each split is audited on its own (class balance, inconsistent records, length and turns per class,
how speakers are written per class, instruction texts per class, the character n-grams most
predictive of the label, a logistic-regression probe on surface features only, duplicates inside
the split), then every pair of splits is checked for leakage (the same input, or the same
meaningful dialogue line, in both). Every finding has a level: `info` (figures only), `warn` (worth
a look) or `fail` (a shortcut or leak a model will exploit, or that inflates its scores). All
thresholds live in `AuditConfig`.

A dialogue line is `speaker: text`; the speaker tag is whatever precedes the first `:` or `：` when
it is 1-20 characters without sentence punctuation. Lines without such a tag count as turns but have
no speaker.

Leakage counts a shared line only when it is meaningful: at least 12 characters once the tag is
stripped, and not formulaic. Template and boilerplate lines (the same line verbatim in 10 or more
records, or a line mostly made of 8-character pieces found in 5 or more distinct lines, e.g. a
template padded with different phrases) are reported apart: templated data such as
fraudft.synthetic shares them between any two splits, while the reference data's leak (each case
chunked at 100, 300 and 500 characters, split at chunk level) shares unique lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fraudft.dialogue import normalize_input, parse_dialogue, speaker_format
from fraudft.errors import UsageError
from fraudft.leaks import LeakConfig, shared_line_leaks
from fraudft.records import validate_record

__all__ = ["AuditConfig", "AuditReport", "FAIL_ON", "Finding", "LEVELS", "SPEAKER_FORMATS", "audit", "load_tokenizer_or_none"]

LEVELS = ("info", "warn", "fail")
FAIL_ON = ("warn", "fail", "never")
CLASS_NAMES = {True: "fraud", False: "not_fraud"}
SPEAKER_FORMATS = ("numbered", "name", "role", "other")

# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class AuditConfig:
    """Thresholds of the audit. Shares are fractions in [0, 1]; `*_warn` must not exceed `*_fail`."""

    # class balance: warn when the minority class is below this share of a split
    min_class_share: float = 0.2
    # length / turns per class: warn when |Cohen's d| or |rank-biserial r| reaches these (by default
    # a medium effect: d 0.5, r 0.3, i.e. an AUC of 0.65 for that one number alone)
    effect_size_warn: float = 0.5
    rank_biserial_warn: float = 0.3
    # speaker tags: absolute difference between the classes in the share of records that have a
    # speaker written in a given format (numbered, name, role, other)
    speaker_format_warn: float = 0.2
    speaker_format_fail: float = 0.5
    # instruction texts: share of a split's records whose instruction never occurs in the other class
    instruction_fail_share: float = 0.01
    # character n-grams: n from 1 to ngram_max_n; n-grams seen fewer than ngram_min_count times are
    # ignored; the informative Dirichlet prior is the pooled counts times ngram_prior_scale
    ngram_max_n: int = 3
    ngram_top_k: int = 15
    ngram_min_count: int = 5
    ngram_prior_scale: float = 0.1
    # an n-gram in at least exclusive_min_records records of one class and none of the other is
    # flagged; warn when it covers at least exclusive_warn_share of its class
    exclusive_min_records: int = 20
    exclusive_warn_share: float = 0.5
    # surface probe: CV accuracy minus the majority rate
    probe_folds: int = 5
    probe_warn_margin: float = 0.05
    probe_fail_margin: float = 0.15
    probe_top_features: int = 8
    probe_seed: int = 0
    # ...and only when the CV accuracy is above the majority rate with a one-sided binomial p-value
    # below probe_alpha, so that a small split's noise is no finding
    probe_alpha: float = 0.01
    # duplicates inside a split: warn at this share of the split (conflicting labels always warn)
    within_duplicate_warn_share: float = 0.01
    # leakage between splits: exact duplicates (any warns) and shared meaningful lines
    duplicate_fail_share: float = 0.01
    shared_line_warn_share: float = 0.01
    shared_line_fail_share: float = 0.05
    # a meaningful line has at least line_min_chars characters once its speaker tag is stripped...
    line_min_chars: int = 12
    # ...and is not formulaic. A line is formulaic (a template or boilerplate, not a leaked case) when
    # it occurs verbatim in at least formulaic_min_records records of all splits together, or when
    # at least formulaic_coverage of its characters lie in character formulaic_ngram-grams found in
    # at least formulaic_min_lines distinct lines (a template filled or padded in many ways).
    # 0 turns either rule off.
    formulaic_min_records: int = 10
    formulaic_ngram: int = 8
    formulaic_min_lines: int = 5
    formulaic_coverage: float = 0.5
    # how many record lines (1-based) and examples a finding lists
    max_examples: int = 20

    def __post_init__(self):
        shares = (
            "min_class_share", "speaker_format_warn", "speaker_format_fail", "instruction_fail_share",
            "exclusive_warn_share", "probe_warn_margin", "probe_fail_margin",
            "within_duplicate_warn_share", "duplicate_fail_share", "shared_line_warn_share",
            "shared_line_fail_share", "formulaic_coverage", "probe_alpha",
        )
        for name in shares:
            value = getattr(self, name)
            if type(value) not in (int, float) or not (math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"{name}: got {value!r}, expected a number in [0, 1]")
        for name in ("effect_size_warn", "rank_biserial_warn", "ngram_prior_scale"):
            value = getattr(self, name)
            if type(value) not in (int, float) or not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: got {value!r}, expected a positive number")
        lows = {
            "ngram_max_n": 1, "ngram_top_k": 1, "ngram_min_count": 1, "exclusive_min_records": 1,
            "probe_folds": 2, "probe_top_features": 1, "probe_seed": 0, "line_min_chars": 1,
            "formulaic_min_records": 0, "formulaic_ngram": 2, "formulaic_min_lines": 0, "max_examples": 1,
        }
        for name, low in lows.items():
            value = getattr(self, name)
            if type(value) is not int or value < low:
                raise ValueError(f"{name}: got {value!r}, expected an int >= {low}")
        if self.rank_biserial_warn > 1:
            raise ValueError(f"rank_biserial_warn: got {self.rank_biserial_warn!r}, expected a number in (0, 1]")
        for warn, fail in (
            ("speaker_format_warn", "speaker_format_fail"),
            ("probe_warn_margin", "probe_fail_margin"),
            ("shared_line_warn_share", "shared_line_fail_share"),
        ):
            if getattr(self, warn) > getattr(self, fail):
                raise ValueError(
                    f"{warn}: got {getattr(self, warn)!r}, expected at most {fail} ({getattr(self, fail)!r})"
                )

    @property
    def leaks(self) -> LeakConfig:
        """The settings of the shared-line leak check (fraudft.leaks)."""
        return LeakConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(LeakConfig)})


# ---------------------------------------------------------------------------------------------
# Findings and the report


@dataclass(frozen=True)
class Finding:
    """One check on one split (split=None for checks across splits): level, a one-line verdict, figures."""

    check: str
    split: str | None
    level: str
    verdict: str
    figures: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"level: got {self.level!r}, expected one of {', '.join(LEVELS)}")

    def to_dict(self) -> dict:
        return _plain(
            {"check": self.check, "split": self.split, "level": self.level, "verdict": self.verdict,
             "figures": self.figures}
        )


CHECK_TITLES = {
    "balance": "Class balance",
    "consistency": "Inconsistent records",
    "length": "Length per class",
    "turns": "Turns per class",
    "speaker_tags": "Speaker tags per class",
    "instruction": "Instruction texts per class",
    "ngrams": "Character n-grams most predictive of the label",
    "probe": "Surface-only probe (no content)",
    "duplicates": "Duplicates inside a split",
    "leakage": "Leakage between splits",
}


@dataclass
class AuditReport:
    """The findings of `audit`, with the split sizes and the config that produced them."""

    splits: dict[str, int]
    findings: list[Finding]
    config: AuditConfig = field(default_factory=AuditConfig)
    tokenizer: str | None = None
    seconds: float = 0.0

    @property
    def worst_level(self) -> str:
        return max((f.level for f in self.findings), key=LEVELS.index, default="info")

    def counts(self) -> dict[str, int]:
        return {level: sum(f.level == level for f in self.findings) for level in LEVELS}

    def select(self, check: str | None = None, split: str | None = None, level: str | None = None) -> list[Finding]:
        """Findings of one check (and split, and level), in report order."""
        return [
            f for f in self.findings
            if (check is None or f.check == check) and (split is None or f.split == split)
            and (level is None or f.level == level)
        ]

    def exit_code(self, fail_on: str = "fail") -> int:
        """1 when a finding reaches `fail_on` (warn or fail), 0 otherwise or when fail_on is never."""
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on: got {fail_on!r}, expected one of {', '.join(FAIL_ON)}")
        if fail_on == "never":
            return 0
        return int(LEVELS.index(self.worst_level) >= LEVELS.index(fail_on))

    def to_dict(self) -> dict:
        return _plain(
            {
                "worst_level": self.worst_level,
                "counts": self.counts(),
                "splits": dict(self.splits),
                "tokenizer": self.tokenizer,
                "seconds": round(self.seconds, 3),
                "config": asdict(self.config),
                "findings": [f.to_dict() for f in self.findings],
            }
        )

    def to_text(self) -> str:
        sizes = ", ".join(f"{name} {n}" for name, n in self.splits.items())
        counts = self.counts()
        out = [
            f"fraudft audit: {len(self.splits)} split(s): {sizes} records"
            + (f"; tokens by {self.tokenizer}" if self.tokenizer else "; no token counts"),
            f"verdict: {self.worst_level.upper()} ({counts['fail']} fail, {counts['warn']} warn, "
            f"{counts['info']} info) in {self.seconds:.1f} s",
        ]
        serious = [f for f in self.findings if f.level != "info"]
        if serious:
            out.append("")
            out.append("Findings at warn or fail:")
            for f in sorted(serious, key=lambda f: -LEVELS.index(f.level)):
                out.append(f"  [{f.level.upper()}] {f.check}{_where(f)}: {f.verdict}")
        for check, title in CHECK_TITLES.items():
            found = self.select(check)
            if not found:
                continue
            out += ["", f"== {title} =="]
            for f in found:
                out.append(f"[{f.level.upper()}]{_where(f)}: {f.verdict}")
                out += ["    " + line for line in _RENDER.get(check, _render_nothing)(f.figures)]
        return "\n".join(out) + "\n"


def _where(finding: Finding) -> str:
    if finding.split is not None:
        return f" {finding.split}"
    pair = finding.figures.get("pair")
    return f" {'/'.join(pair)}" if pair else ""


def _plain(obj):
    """Plain JSON types: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def _level(value: float, warn: float | None, fail: float | None = None) -> str:
    if fail is not None and value >= fail:
        return "fail"
    if warn is not None and value >= warn:
        return "warn"
    return "info"


def _worst(*levels: str) -> str:
    return max(levels, key=LEVELS.index, default="info")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


# ---------------------------------------------------------------------------------------------
# Per-record features


@dataclass
class _Split:
    name: str
    records: list[dict]
    labels: np.ndarray  # bool
    turns: list[list[tuple[str | None, str]]]
    chars: np.ndarray
    n_turns: np.ndarray
    tokens: np.ndarray | None


def _prepare(name: str, records: list[dict], tokenizer) -> _Split:
    turns = [parse_dialogue(r["input"]) for r in records]
    tokens = None
    if tokenizer is not None:
        encoded = tokenizer([r["input"] for r in records], add_special_tokens=False)["input_ids"]
        tokens = np.array([len(ids) for ids in encoded], dtype=float)
    return _Split(
        name=name,
        records=records,
        labels=np.array([r["label"] for r in records], dtype=bool),
        turns=turns,
        chars=np.array([len(r["input"]) for r in records], dtype=float),
        n_turns=np.array([len(t) for t in turns], dtype=float),
        tokens=tokens,
    )


def _both_classes(split: _Split) -> bool:
    return 0 < split.labels.sum() < len(split.labels)


def _needs_both(check: str, split: _Split) -> Finding:
    return Finding(check, split.name, "info", "skipped: the split does not have both classes")


# ---------------------------------------------------------------------------------------------
# Checks on one split


def _check_balance(split: _Split, config: AuditConfig) -> Finding:
    n, n_fraud = len(split.labels), int(split.labels.sum())
    share = n_fraud / n
    minority = min(share, 1 - share)
    figures = {"records": n, "fraud": n_fraud, "not_fraud": n - n_fraud, "fraud_share": share}
    verdict = f"{n_fraud} fraud / {n - n_fraud} not fraud ({_pct(share)} fraud)"
    if minority == 0:
        return Finding("balance", split.name, "warn", verdict + ": only one class", figures)
    if minority < config.min_class_share:
        return Finding("balance", split.name, "warn", verdict + f": minority class below {_pct(config.min_class_share)}", figures)
    return Finding("balance", split.name, "info", verdict + ": balanced enough", figures)


def _check_consistency(split: _Split, config: AuditConfig) -> Finding:
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
    found = {kind: len(lines) for kind, lines in issues.items() if lines}
    if not found:
        return Finding("consistency", split.name, "info", "no inconsistent records", figures)
    text = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in found.items())
    return Finding("consistency", split.name, "warn", text, figures)


def _describe(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"n": 0, "mean": None, "median": None, "sd": None, "min": None, "max": None}
    return {
        "n": len(values), "mean": float(values.mean()), "median": float(np.median(values)),
        "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()), "max": float(values.max()),
    }


def effect_sizes(fraud: np.ndarray, not_fraud: np.ndarray) -> dict:
    """Cohen's d (pooled SD), rank-biserial r and AUC of fraud vs not fraud; positive: fraud is larger."""
    from scipy.stats import mannwhitneyu

    n1, n2 = len(fraud), len(not_fraud)
    diff = float(fraud.mean() - not_fraud.mean())
    squares = float(((fraud - fraud.mean()) ** 2).sum() + ((not_fraud - not_fraud.mean()) ** 2).sum())
    pooled = math.sqrt(squares / (n1 + n2 - 2)) if n1 + n2 > 2 else 0.0
    if pooled > 0:
        d = diff / pooled
    else:
        d = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    u = mannwhitneyu(fraud, not_fraud, alternative="two-sided").statistic
    auc = float(u / (n1 * n2))  # how often a fraud record has the larger value (ties count half)
    return {"cohens_d": d, "rank_biserial": 2 * auc - 1, "auc": auc}


def _effect_finding(check: str, split: _Split, measures: dict[str, np.ndarray], config: AuditConfig) -> Finding:
    figures, level, parts = {}, "info", []
    for measure, values in measures.items():
        fraud, not_fraud = values[split.labels], values[~split.labels]
        effect = effect_sizes(fraud, not_fraud)
        measure_level = "warn" if (
            abs(effect["cohens_d"]) >= config.effect_size_warn
            or abs(effect["rank_biserial"]) >= config.rank_biserial_warn
        ) else "info"
        figures[measure] = {"fraud": _describe(fraud), "not_fraud": _describe(not_fraud), **effect,
                            "level": measure_level}
        level = _worst(level, measure_level)
        d = effect["cohens_d"]
        size = "large" if abs(d) >= 0.8 else "medium" if abs(d) >= 0.5 else "small" if abs(d) >= 0.2 else "negligible"
        parts.append(
            f"{measure} mean {fraud.mean():.1f} fraud vs {not_fraud.mean():.1f} not fraud "
            f"(d={d:+.2f}, r={effect['rank_biserial']:+.2f}, {size})"
        )
    verdict = "; ".join(parts) + (": the classes differ enough for a model to use it" if level == "warn" else "")
    return Finding(check, split.name, level, verdict, figures)


def _check_length(split: _Split, config: AuditConfig) -> Finding:
    measures = {"chars": split.chars}
    if split.tokens is not None:
        measures["tokens"] = split.tokens
    return _effect_finding("length", split, measures, config)


def _check_turns(split: _Split, config: AuditConfig) -> Finding:
    return _effect_finding("turns", split, {"turns": split.n_turns}, config)


def _check_speaker_tags(split: _Split, config: AuditConfig) -> Finding:
    has = {fmt: np.zeros(len(split.records), dtype=bool) for fmt in SPEAKER_FORMATS}
    tag_counts = {True: Counter(), False: Counter()}
    untagged = 0
    for i, (turns, label) in enumerate(zip(split.turns, split.labels)):
        tags = dict.fromkeys(tag for tag, _ in turns if tag is not None)
        untagged += sum(tag is None for tag, _ in turns)
        tag_counts[bool(label)].update(list(tags))
        for tag in tags:
            has[speaker_format(tag)][i] = True
    formats, level, notes = {}, "info", []
    for fmt in SPEAKER_FORMATS:
        fraud, not_fraud = float(has[fmt][split.labels].mean()), float(has[fmt][~split.labels].mean())
        diff = fraud - not_fraud
        fmt_level = _level(abs(diff), config.speaker_format_warn, config.speaker_format_fail)
        formats[fmt] = {"fraud_share": fraud, "not_fraud_share": not_fraud, "difference": diff, "level": fmt_level}
        level = _worst(level, fmt_level)
        if fmt_level != "info":
            notes.append((abs(diff), f"{_FORMAT_NAMES[fmt]} tags in {_pct(fraud)} of fraud vs {_pct(not_fraud)} of not-fraud records"))
    top = {CLASS_NAMES[label]: [[tag, n] for tag, n in counts.most_common(8)] for label, counts in tag_counts.items()}
    figures = {"formats": formats, "top_tags": top, "untagged_lines": untagged,
               "distinct_tags": {CLASS_NAMES[k]: len(v) for k, v in tag_counts.items()}}
    if notes:
        verdict = "; ".join(text for _, text in sorted(notes, reverse=True)) + ": how speakers are written predicts the label"
    else:
        biggest = max(formats.items(), key=lambda kv: abs(kv[1]["difference"]))
        verdict = (f"tag formats are written alike in both classes (largest difference: {biggest[0]} "
                   f"{100 * biggest[1]['difference']:+.1f} points)")
    return Finding("speaker_tags", split.name, level, verdict, figures)


_FORMAT_NAMES = {"numbered": "numbered (发言人N)", "name": "name-like", "role": "role-word", "other": "other"}


def _instruction_id(text: str) -> str:
    return "#" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _check_instruction(split: _Split, config: AuditConfig) -> Finding:
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
        rows.append({"id": _instruction_id(text), "text": text, "fraud": c[True], "not_fraud": c[False], "only_in": only})
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
               f"{_pct(share)}): the instruction alone gives the label away")
    return Finding("instruction", split.name, level, verdict, figures)


def _check_ngrams(split: _Split, config: AuditConfig) -> Finding:
    from sklearn.feature_extraction.text import CountVectorizer

    texts = [r["input"] for r in split.records]
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, config.ngram_max_n), lowercase=False, dtype=np.int32)
    try:
        x = vectorizer.fit_transform(texts).tocsc()
    except ValueError:  # nothing but empty inputs
        return Finding("ngrams", split.name, "info", "no characters to count", {})
    vocab = vectorizer.get_feature_names_out()
    xf, xn = x[split.labels], x[~split.labels]
    y_f = np.asarray(xf.sum(axis=0)).ravel().astype(float)
    y_n = np.asarray(xn.sum(axis=0)).ravel().astype(float)
    keep = ((y_f + y_n) >= config.ngram_min_count) & np.array([bool(g.strip()) for g in vocab])
    idx = np.flatnonzero(keep)
    vocab, y_f, y_n = vocab[idx], y_f[idx], y_n[idx]
    df_f = np.asarray((xf[:, idx] > 0).sum(axis=0)).ravel()
    df_n = np.asarray((xn[:, idx] > 0).sum(axis=0)).ravel()
    # Monroe, Colaresi & Quinn (2008): log-odds ratio with an informative Dirichlet prior (the pooled
    # counts, scaled), divided by its approximate standard deviation.
    alpha = config.ngram_prior_scale * (y_f + y_n)
    a0, n_f, n_n = alpha.sum(), y_f.sum(), y_n.sum()
    delta = np.log((y_f + alpha) / (n_f + a0 - y_f - alpha)) - np.log((y_n + alpha) / (n_n + a0 - y_n - alpha))
    z = delta / np.sqrt(1 / (y_f + alpha) + 1 / (y_n + alpha))
    n_fraud, n_not = int(split.labels.sum()), int((~split.labels).sum())

    def row(i: int) -> dict:
        return {"ngram": str(vocab[i]), "z": float(z[i]), "fraud_count": int(y_f[i]), "not_fraud_count": int(y_n[i]),
                "fraud_records": int(df_f[i]), "not_fraud_records": int(df_n[i])}

    def alike(i: int, j: int) -> bool:  # about the same records in each class
        return all(abs(int(a[i]) - int(a[j])) <= max(2, 0.1 * max(a[i], a[j])) for a in (df_f, df_n))

    def top(order) -> list[dict]:
        """The first top_k n-grams of `order`, one per family: a part of a listed n-gram is skipped,
        and a longer n-gram found in about the same records replaces the shorter one it contains."""
        chosen: list[int] = []
        for i in order:
            gram = str(vocab[i])
            if any(gram in str(vocab[c]) for c in chosen):
                continue
            parts = [k for k, c in enumerate(chosen) if str(vocab[c]) in gram and alike(i, c)]
            if parts:
                chosen[parts[0]] = i
                chosen = [c for k, c in enumerate(chosen) if k not in parts[1:]]
                continue
            if len(chosen) == config.ngram_top_k:
                break
            chosen.append(i)
        return [row(i) for i in chosen]

    exclusive, level, notes = {}, "info", []
    for name, mine, other, size in (("fraud", df_f, df_n, n_fraud), ("not_fraud", df_n, df_f, n_not)):
        hits = np.flatnonzero((mine >= config.exclusive_min_records) & (other == 0))
        rows = top(hits[np.argsort(-mine[hits], kind="stable")])
        for r in rows:
            r["share_of_class"] = r[f"{name}_records"] / size
        exclusive[name] = rows
        strong = [r for r in rows if r["share_of_class"] >= config.exclusive_warn_share]
        if strong:
            level = "warn"
            notes.append(
                f"{_show(strong[0]['ngram'])} in {_pct(strong[0]['share_of_class'])} of {name.replace('_', '-')} "
                f"records and none of the other class"
            )
    figures = {
        "fraud": top(np.argsort(-z, kind="stable")),
        "not_fraud": top(np.argsort(z, kind="stable")),
        "exclusive": exclusive,
        "vocabulary": len(vocab),
    }
    lead = ", ".join(_show(r["ngram"]) for r in figures["fraud"][:5])
    lead_n = ", ".join(_show(r["ngram"]) for r in figures["not_fraud"][:5])
    verdict = f"most fraud-like: {lead}; most not-fraud-like: {lead_n}"
    if notes:
        verdict = "; ".join(notes) + f" ({verdict})"
    return Finding("ngrams", split.name, level, verdict, figures)


def _show(gram: str) -> str:
    return json.dumps(gram, ensure_ascii=False)


PUNCTUATION = ("！", "!", "？", "?", "。", "…", "，", ",", "、", "；", "：", "~", "“", "”", "《")


def surface_features(split: _Split) -> tuple[np.ndarray, list[str]]:
    """Non-content features of each record: sizes, speaker-tag formats, punctuation, digits, instruction."""
    instructions = Counter(r["instruction"] for r in split.records)
    top_instructions = [text for text, _ in instructions.most_common(10)]
    names = ["chars", "turns", "mean_line_chars", "speakers", "untagged_lines"]
    names += [f"tags_{fmt}" for fmt in SPEAKER_FORMATS]
    names += [f"count {p}" for p in PUNCTUATION] + ["digits"]
    if split.tokens is not None:
        names.append("tokens")
    if len(instructions) > 1:
        names += [f"instruction {_instruction_id(t)}" for t in top_instructions]
    rows = []
    for i, (record, turns) in enumerate(zip(split.records, split.turns)):
        texts = [t for _, t in turns]
        body = "".join(texts)
        tags = list(dict.fromkeys(tag for tag, _ in turns if tag is not None))
        formats = Counter(speaker_format(t) for t in tags)
        line_lengths = [len(t) for t in texts] or [0]
        row = [len(record["input"]), len(turns), float(np.mean(line_lengths)), len(tags),
               sum(tag is None for tag, _ in turns)]
        row += [formats[fmt] / len(tags) if tags else 0.0 for fmt in SPEAKER_FORMATS]
        row += [body.count(p) for p in PUNCTUATION]
        row.append(sum(c.isdigit() for c in body))
        if split.tokens is not None:
            row.append(split.tokens[i])
        if len(instructions) > 1:
            row += [float(record["instruction"] == t) for t in top_instructions]
        rows.append(row)
    return np.array(rows, dtype=float), names


def _check_probe(split: _Split, config: AuditConfig) -> Finding:
    from scipy.stats import binomtest
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = split.labels.astype(int)
    minority = int(min(y.sum(), len(y) - y.sum()))
    folds = min(config.probe_folds, minority)
    if folds < 2:
        return Finding("probe", split.name, "info", "skipped: fewer than 2 records in a class", {"folds": folds})
    x, names = surface_features(split)

    def model():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    cv = StratifiedKFold(folds, shuffle=True, random_state=config.probe_seed)
    scores = cross_val_score(model(), x, y, cv=cv)
    fitted = model().fit(x, y)
    coefs = fitted[-1].coef_[0]
    order = np.argsort(-np.abs(coefs), kind="stable")[: config.probe_top_features]
    majority = float(max(y.mean(), 1 - y.mean()))
    accuracy = float(scores.mean())
    margin = accuracy - majority
    p_value = float(binomtest(round(accuracy * len(y)), len(y), majority, alternative="greater").pvalue)
    level = _level(margin, config.probe_warn_margin, config.probe_fail_margin) if p_value < config.probe_alpha else "info"
    top = [{"feature": names[i], "coefficient": float(coefs[i])} for i in order]
    figures = {"accuracy": accuracy, "accuracy_sd": float(scores.std()), "folds": folds, "majority_rate": majority,
               "margin": margin, "p_value": p_value, "features": names, "top_features": top}
    shown = ", ".join(f"{t['feature']} {t['coefficient']:+.2f}" for t in top[:4])
    verdict = f"{folds}-fold CV accuracy {accuracy:.3f} vs majority rate {majority:.3f} ({margin:+.3f})"
    verdict += {
        "fail": f": far above, the label can be read off surface features ({shown})",
        "warn": f": above, a weak surface shortcut ({shown})",
        "info": ": no surface shortcut" if p_value < config.probe_alpha or margin <= 0
        else f": not significantly above (p={p_value:.2g})",
    }[level]
    return Finding("probe", split.name, level, verdict, figures)


def _check_duplicates(split: _Split, config: AuditConfig) -> Finding:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(split.records):
        key = normalize_input(record["input"])
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
    }
    if not dup_groups:
        return Finding("duplicates", split.name, "info", "no duplicate inputs", figures)
    level = "warn" if conflicting or share >= config.within_duplicate_warn_share else "info"
    verdict = f"{extra} records ({_pct(share)}) repeat an earlier input, in {len(dup_groups)} group(s)"
    if conflicting:
        verdict += f"; {len(conflicting)} group(s) with conflicting labels"
    return Finding("duplicates", split.name, level, verdict, figures)


# ---------------------------------------------------------------------------------------------
# Leakage between splits


def _check_leakage(splits: dict[str, list[dict]], config: AuditConfig) -> list[Finding]:
    names = list(splits)
    if len(names) < 2:
        return []
    keys = {name: [normalize_input(r["input"]) for r in records] for name, records in splits.items()}
    key_sets = {name: {k for k in ks if k} for name, ks in keys.items()}
    leaks = shared_line_leaks(splits, config.leaks)
    lines, formulaic = leaks["lines"], leaks["formulaic"]
    per_split_lines = {name: set().union(*sets) if sets else set() for name, sets in lines.items()}
    findings = []
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            figures: dict = {"pair": [a, b]}
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
            figures["examples"] = [line[:60] for line in meaningful[: min(5, config.max_examples)]]
            dup_share = max(s[0] for s in shares)
            line_share = max(s[1] for s in shares)
            level = _worst(
                "fail" if dup_share >= config.duplicate_fail_share else "warn" if dup_share > 0 else "info",
                _level(line_share, config.shared_line_warn_share, config.shared_line_fail_share),
            )
            fa, fb = figures[a], figures[b]
            verdict = (
                f"{fa['duplicated']} {a} ({_pct(fa['duplicated_share'])}) and {fb['duplicated']} {b} "
                f"({_pct(fb['duplicated_share'])}) inputs also in the other split; {fa['sharing_line']} {a} "
                f"({_pct(fa['sharing_line_share'])}) and {fb['sharing_line']} {b} ({_pct(fb['sharing_line_share'])}) "
                f"records share a meaningful line (>= {config.line_min_chars} chars, not formulaic)"
            )
            verdict += {"fail": ": substantial leakage", "warn": ": some leakage", "info": ": no leakage"}[level]
            findings.append(Finding("leakage", None, level, verdict, figures))
    return findings


# ---------------------------------------------------------------------------------------------
# The audit


def _validate_splits(splits: dict[str, list[dict]]) -> None:
    if not isinstance(splits, dict) or not splits:
        raise ValueError("splits: expected a non-empty dict of split name -> list of records")
    for name, records in splits.items():
        if not isinstance(records, list) or not records:
            raise ValueError(f"{name}: expected a non-empty list of records")
        for i, record in enumerate(records):
            validate_record(record, name, i + 1)


def audit(splits: dict[str, list[dict]], config: AuditConfig = AuditConfig(), tokenizer=None) -> AuditReport:
    """Audit each split and every pair of splits; see the module docstring.

    `tokenizer` (a Hugging Face tokenizer, a name or path for fraudft.tokenizer.load_tokenizer, or
    None) adds token counts to the length check.
    """
    if isinstance(tokenizer, (str, Path)):
        tokenizer = load_tokenizer_or_none(str(tokenizer))
    if not isinstance(config, AuditConfig):
        raise ValueError(f"config: got {type(config).__name__}, expected an AuditConfig")
    _validate_splits(splits)
    start = time.perf_counter()
    findings: list[Finding] = []
    for name, records in splits.items():
        split = _prepare(name, records, tokenizer)
        findings += [_check_balance(split, config), _check_consistency(split, config)]
        both = _both_classes(split)
        for check, fn in (("length", _check_length), ("turns", _check_turns), ("speaker_tags", _check_speaker_tags),
                          ("instruction", _check_instruction), ("ngrams", _check_ngrams), ("probe", _check_probe)):
            findings.append(fn(split, config) if both else _needs_both(check, split))
        findings.append(_check_duplicates(split, config))
    findings += _check_leakage(splits, config)
    order = list(CHECK_TITLES)
    findings.sort(key=lambda f: order.index(f.check))  # stable: splits keep their order inside a check
    name = getattr(tokenizer, "name_or_path", None) or (type(tokenizer).__name__ if tokenizer is not None else None)
    return AuditReport(
        splits={name_: len(records) for name_, records in splits.items()},
        findings=findings, config=config, tokenizer=str(name) if name is not None else None,
        seconds=time.perf_counter() - start,
    )


# ---------------------------------------------------------------------------------------------
# Text rendering of the figures


def _render_nothing(figures: dict) -> list[str]:
    return []


def _render_effect(figures: dict) -> list[str]:
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


def _render_consistency(figures: dict) -> list[str]:
    out = []
    for kind, f in figures.items():
        if f["count"]:
            lines = ", ".join(map(str, f["lines"][:20])) + (", ..." if f["count"] > 20 else "")
            out.append(f"{kind.replace('_', ' ')}: {f['count']} at line(s) {lines}")
    return out


def _render_speaker_tags(figures: dict) -> list[str]:
    if not figures:
        return []
    out = [f"{'format':22} {'fraud':>7} {'not fraud':>10} {'diff':>8}"]
    for fmt, f in figures["formats"].items():
        out.append(f"{_FORMAT_NAMES[fmt]:22} {_pct(f['fraud_share']):>7} {_pct(f['not_fraud_share']):>10} "
                   f"{100 * f['difference']:+7.1f}")
    for name, tags in figures["top_tags"].items():
        out.append(f"most common tags, {name.replace('_', ' ')}: " + ", ".join(f"{t} {n}" for t, n in tags))
    if figures.get("untagged_lines"):
        out.append(f"lines without a speaker tag: {figures['untagged_lines']}")
    return out


def _render_instruction(figures: dict) -> list[str]:
    out = []
    for row in figures.get("instructions", [])[:10]:
        only = f"  ONLY IN {row['only_in'].replace('_', ' ').upper()}" if row["only_in"] else ""
        out.append(f"{row['id']} fraud {row['fraud']}, not fraud {row['not_fraud']}: {_show(row['text'][:50])}{only}")
    return out


def _render_ngrams(figures: dict) -> list[str]:
    if not figures:
        return []
    out = []
    for name in ("fraud", "not_fraud"):
        cells = [f"{_show(r['ngram'])} z={r['z']:+.1f} ({r['fraud_records']}/{r['not_fraud_records']})" for r in figures[name]]
        out.append(f"top {name.replace('_', ' ')} (z, records fraud/not fraud): " + ", ".join(cells))
    for name, rows in figures["exclusive"].items():
        if rows:
            cells = [f"{_show(r['ngram'])} {r[name + '_records']} ({_pct(r['share_of_class'])})" for r in rows[:10]]
            out.append(f"only in {name.replace('_', ' ')} records: " + ", ".join(cells))
    return out


def _render_probe(figures: dict) -> list[str]:
    if "top_features" not in figures:
        return []
    return ["largest standardized coefficients (+ means fraud): "
            + ", ".join(f"{t['feature']} {t['coefficient']:+.2f}" for t in figures["top_features"])]


def _render_duplicates(figures: dict) -> list[str]:
    out = []
    if figures.get("examples"):
        out.append("groups (record lines): " + "; ".join(",".join(map(str, g)) for g in figures["examples"][:10]))
    if figures.get("conflicting_examples"):
        out.append("conflicting labels: " + "; ".join(",".join(map(str, g)) for g in figures["conflicting_examples"][:10]))
    return out


def _render_leakage(figures: dict) -> list[str]:
    out = []
    for name in figures["pair"]:
        f = figures[name]
        out.append(
            f"{name}: {f['duplicated']} of {f['records']} duplicated ({_pct(f['duplicated_share'])}); "
            f"{f['sharing_line']} share a meaningful line ({_pct(f['sharing_line_share'])}); "
            f"{f['sharing_any_line']} share any line of that length, formulaic ones included"
        )
    out.append(f"distinct shared lines: {figures['shared_lines']} meaningful, {figures['formulaic_shared_lines']} formulaic;"
               f" distinct duplicated inputs: {figures['duplicate_inputs']}")
    if figures["examples"]:
        out.append("e.g. " + " | ".join(figures["examples"][:3]))
    return out


_RENDER = {
    "length": _render_effect, "turns": _render_effect, "consistency": _render_consistency,
    "speaker_tags": _render_speaker_tags, "instruction": _render_instruction, "ngrams": _render_ngrams,
    "probe": _render_probe, "duplicates": _render_duplicates, "leakage": _render_leakage,
}


def load_tokenizer_or_none(name: str | None):
    """The tokenizer for token counts, or None for `none` (token counts are then left out)."""
    if name is None or name.lower() == "none":
        return None
    from fraudft.modeling.tokenizer import load_tokenizer

    try:
        return load_tokenizer(name)
    except (OSError, RuntimeError) as err:
        raise UsageError(f"--tokenizer {name}: cannot be loaded ({err}); pass --tokenizer none to skip token counts") from err
