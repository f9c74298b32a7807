"""fraudft.audit.config: AuditConfig validates its thresholds and hands the leak settings on."""

from __future__ import annotations

import dataclasses

import pytest

from fraudft.audit import AuditConfig
from fraudft.data.leaks import LeakConfig


@pytest.mark.parametrize(
    "changes",
    [{"probe_fail_margin": 1.5}, {"probe_warn_margin": 0.2, "probe_fail_margin": 0.1}, {"ngram_max_n": 0},
     {"probe_folds": 1}, {"effect_size_warn": 0}, {"line_min_chars": 2.5}, {"min_class_share": float("nan")},
     {"speaker_format_warn": "0.2"}, {"rank_biserial_warn": 1.5}],
)
def test_config_rejects_bad_values(changes):
    with pytest.raises(ValueError, match=next(iter(changes))):
        AuditConfig(**changes)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AuditConfig().probe_fail_margin = 0.5


def test_leaks_carries_the_leak_settings():
    config = AuditConfig(line_min_chars=20, formulaic_min_records=0)
    leaks = config.leaks
    assert isinstance(leaks, LeakConfig)
    assert leaks.line_min_chars == 20 and leaks.formulaic_min_records == 0
    assert leaks.formulaic_ngram == config.formulaic_ngram
