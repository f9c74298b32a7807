"""Audit data splits for label shortcuts, leakage between splits and inconsistent records.

    fraudft audit train.jsonl eval.jsonl test.jsonl            # a report for people
    fraudft audit eval.jsonl --json --tokenizer none           # a dict for machines, no token counts
    fraudft audit train.jsonl eval.jsonl --fail-on warn        # exit 1 on warnings too

    from fraudft.audit import AuditConfig, audit
    report = audit({"train": train, "eval": eval_}, AuditConfig(), tokenizer=None)
    report.worst_level, report.to_text(), report.to_dict()

Each split is audited on its own (class balance, inconsistent records, length and turns per class,
how speakers are written and lines end per class, instruction texts per class, the character n-grams
most predictive of the label, a logistic-regression probe on surface features only, duplicates
inside the split), then every pair of splits is checked for leakage (the same input, or the same
meaningful dialogue line, in both) and label conflicts (the same input with opposite labels). Inputs
and lines are compared by key (fraudft.data.dialogue.normalize_input: NFKC, whitespace removed); reports
show text as written, with visible escapes (fraudft.audit.features.show). Every finding has a level: `info` (figures only), `warn` (worth
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

Layout: config.py (AuditConfig), report.py (Finding, AuditReport), features.py (per-record features
and shared helpers), registry.py (the @check decorator), checks/ (one module per check).
"""

from __future__ import annotations

import time
from pathlib import Path

from fraudft.audit import checks  # noqa: F401  (imported to register the checks)
from fraudft.audit.config import AuditConfig
from fraudft.audit.features import SPEAKER_FORMATS, Split, prepare_split
from fraudft.audit.registry import registered
from fraudft.audit.report import FAIL_ON, LEVELS, AuditReport, Finding
from fraudft.core.errors import UsageError
from fraudft.data.records import validate_record

__all__ = ["FAIL_ON", "LEVELS", "SPEAKER_FORMATS", "AuditConfig", "AuditReport", "Finding", "audit", "load_tokenizer_or_none"]


def audit(
    splits: dict[str, list[dict]], config: AuditConfig = AuditConfig(), tokenizer=None,  # noqa: B008 (frozen)
    places: dict[str, str] | None = None,
) -> AuditReport:
    """Audit each split and every pair of splits; see the module docstring.

    `places` ({split: "line", "item" or "row"}, fraudft.data.loading.place_word of its file; "line" for
    a split not named) says how reports name a split's records: figures that list records give
    1-based numbers, and the split's place word with them (`place`, or `places` for a pair).

    `tokenizer` (a Hugging Face tokenizer, a name or path for fraudft.modeling.tokenizer.load_tokenizer,
    or None) adds token counts to the length check. Findings come in registry order, and within a
    check in the order of `splits`.
    """
    if isinstance(tokenizer, (str, Path)):
        tokenizer = load_tokenizer_or_none(str(tokenizer))
    if not isinstance(config, AuditConfig):
        raise ValueError(f"config: got {type(config).__name__}, expected an AuditConfig")
    places = {name: (places or {}).get(name, "line") for name in splits}
    _validate_splits(splits, places)
    start = time.perf_counter()
    prepared = {name: prepare_split(name, records, tokenizer, places[name]) for name, records in splits.items()}
    findings: list[Finding] = []
    for spec in registered():
        if spec.scope == "splits":
            findings += spec.function(prepared, config)
            continue
        for split in prepared.values():
            if spec.needs_both_classes and not split.has_both_classes:
                findings.append(_skipped(spec.name, split))
            else:
                findings.append(spec.function(split, config))
    name = getattr(tokenizer, "name_or_path", None) or (type(tokenizer).__name__ if tokenizer is not None else None)
    return AuditReport(
        splits={name_: len(records) for name_, records in splits.items()},
        findings=findings, config=config, tokenizer=str(name) if name is not None else None,
        seconds=time.perf_counter() - start,
    )


def _skipped(check: str, split: Split) -> Finding:
    return Finding(check, split.name, "info", "skipped: the split does not have both classes")


def _validate_splits(splits: dict[str, list[dict]], places: dict[str, str]) -> None:
    if not isinstance(splits, dict) or not splits:
        raise ValueError("splits: expected a non-empty dict of split name -> list of records")
    for name, records in splits.items():
        if not isinstance(records, list) or not records:
            raise ValueError(f"{name}: expected a non-empty list of records")
        for i, record in enumerate(records):
            validate_record(record, name, i + 1 if places[name] == "line" else f"{places[name]} {i + 1}")


def load_tokenizer_or_none(name: str | None):
    """The tokenizer for token counts, or None for `none` (token counts are then left out)."""
    if name is None or name.lower() == "none":
        return None
    from fraudft.modeling.tokenizer import load_tokenizer

    try:
        return load_tokenizer(name)
    except (OSError, RuntimeError) as err:
        raise UsageError(f"--tokenizer {name}: cannot be loaded ({err}); pass --tokenizer none to skip token counts") from err
