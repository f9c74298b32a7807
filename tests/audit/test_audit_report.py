"""fraudft.audit.report: levels, exit codes, selection, and the report's JSON and text forms."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fraudft.audit import FAIL_ON, LEVELS, AuditConfig, AuditReport, Finding, audit


def test_finding_rejects_an_unknown_level():
    with pytest.raises(ValueError, match="level: got 'error'"):
        Finding("balance", "x", "error", "v")


def test_exit_code_levels():
    report = AuditReport(splits={"x": 1}, findings=[Finding("balance", "x", "warn", "w")])
    assert report.worst_level == "warn"
    assert (report.exit_code("fail"), report.exit_code("warn"), report.exit_code("never")) == (0, 1, 0)
    report.findings.append(Finding("probe", "x", "fail", "f"))
    assert (report.exit_code("fail"), report.exit_code("never")) == (1, 0)
    with pytest.raises(ValueError):
        report.exit_code("sometimes")
    assert AuditReport(splits={}, findings=[]).worst_level == "info"
    assert LEVELS == ("info", "warn", "fail") and set(FAIL_ON) == {"warn", "fail", "never"}


def test_select_and_counts():
    findings = [Finding("balance", "a", "info", "1"), Finding("balance", "b", "warn", "2"),
                Finding("probe", "a", "warn", "3")]
    report = AuditReport(splits={"a": 1, "b": 1}, findings=findings)
    assert report.counts() == {"info": 1, "warn": 2, "fail": 0}
    assert [f.verdict for f in report.select("balance")] == ["1", "2"]
    assert [f.verdict for f in report.select(split="a", level="warn")] == ["3"]


def test_figures_become_plain_json():
    finding = Finding("length", "x", "info", "v", {"d": np.float64("inf"), "n": np.int64(3), "ok": np.bool_(True),
                                                     "pair": ("a", "b")})
    assert finding.to_dict()["figures"] == {"d": None, "n": 3, "ok": True, "pair": ["a", "b"]}


def test_report_dict_is_plain_json(clean_splits):
    report = audit({"train": clean_splits["train"][:200]})
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert {f["check"] for f in as_dict["findings"]} >= {
        "balance", "consistency", "length", "turns", "speaker_tags", "instruction", "ngrams", "probe", "duplicates"
    }
    assert as_dict["config"]["probe_fail_margin"] == AuditConfig().probe_fail_margin


def test_text_lists_serious_findings_first_worst_first():
    report = AuditReport(splits={"a": 3}, findings=[
        Finding("balance", "a", "warn", "only one class"), Finding("probe", "a", "fail", "far above"),
        Finding("duplicates", "a", "info", "no duplicate inputs"),
    ])
    text = report.to_text()
    assert text.startswith("fraudft audit: 1 split(s): a 3 records; no token counts\nverdict: FAIL (1 fail, 1 warn, 1 info)")
    assert text.index("[FAIL] probe a: far above") < text.index("[WARN] balance a: only one class")
    assert text.index("== Class balance ==") < text.index("== Surface-only probe") < text.index("== Duplicates inside")
