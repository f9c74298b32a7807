"""The thresholds of the audit: `AuditConfig`, validated on construction.

    from fraudft.audit import AuditConfig, audit
    audit(splits, AuditConfig(probe_fail_margin=0.2, line_min_chars=20))
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from fraudft.data.leaks import LeakConfig


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
    # duplicates inside a split: warn at this share of the split (conflicting labels always fail)
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
            "shared_line_fail_share", "probe_alpha",
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
            "probe_folds": 2, "probe_top_features": 1, "probe_seed": 0, "max_examples": 1,
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
        self.leaks  # noqa: B018 - building the LeakConfig checks the shared-line settings

    @property
    def leaks(self) -> LeakConfig:
        """The settings of the shared-line leak check (fraudft.data.leaks)."""
        return LeakConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(LeakConfig)})
