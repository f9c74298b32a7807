"""The per-split checks of fraudft.audit.checks: the figures behind each verdict, on synthetic data
with one planted shortcut, duplicates or inconsistent records."""

from __future__ import annotations

import pytest

from fraudft.audit import AuditConfig, audit
from fraudft.synthetic import SynthConfig, generate


def shortcut_report(shortcut: str):
    return audit({"train": generate(SynthConfig(n=600, seed=0, shortcut=shortcut))})


def test_probe_needs_a_significant_margin(only):
    records = generate(SynthConfig(n=40, seed=0, shortcut="speaker_tag"))
    assert only(audit({"t": records}), "probe").level == "fail"
    probe = only(audit({"t": records}, AuditConfig(probe_alpha=1e-15)), "probe")
    assert probe.level == "info" and "not significantly above" in probe.verdict
    assert probe.figures["p_value"] == pytest.approx(0.5**40, rel=0.01)


def test_speaker_tag_shortcut_figures(only):
    finding = only(shortcut_report("speaker_tag"), "speaker_tags")
    formats = finding.figures["formats"]
    assert formats["numbered"]["not_fraud_share"] == 1.0 and formats["numbered"]["fraud_share"] == 0.0
    assert "numbered" in finding.verdict


def test_length_and_turns_figures(only):
    turns = only(shortcut_report("turns"), "turns").figures["turns"]
    assert turns["fraud"]["min"] >= 6 and turns["not_fraud"]["max"] <= 3
    assert turns["cohens_d"] > 2 and turns["rank_biserial"] == 1.0 and turns["auc"] == 1.0
    length = only(shortcut_report("length"), "length")
    assert length.figures["chars"]["fraud"]["mean"] - length.figures["chars"]["not_fraud"]["mean"] > 200


def test_instruction_leak_figures(only):
    finding = only(shortcut_report("instruction"), "instruction")
    assert finding.figures["distinct"] == 2 and finding.figures["exclusive_share"] == 1.0
    assert {row["only_in"] for row in finding.figures["instructions"]} == {"fraud", "not_fraud"}


def test_punctuation_shortcut_shows_in_ngrams(only):
    ngrams = only(shortcut_report("punctuation"), "ngrams").figures
    assert any("！" in row["ngram"] for row in ngrams["fraud"][:3])
    assert any("！" in row["ngram"] for row in ngrams["exclusive"]["fraud"])


def test_duplicates_inside_a_split(planted, only):
    report = audit(planted)
    dup = only(report, "duplicates", "train")
    assert dup.figures["duplicate_records"] == 3 and dup.figures["groups"] == 3
    assert dup.figures["conflicting_groups"] == 1 and dup.figures["conflicting_examples"] == [[32, 42]]
    assert dup.level == "fail"  # one of 32 and 42's labels is wrong, as with a conflict across splits
    assert "lines 32,42" in dup.verdict
    assert only(report, "duplicates", "test").figures["duplicate_records"] == 0


def test_inconsistent_records_are_reported_with_lines(make_record, only):
    records = [
        make_record("张伟: 我是银行客服\n李强: 什么事", True, "张伟"),
        make_record("", False),  # line 2: empty input
        make_record("张伟: 你好\n李强: 你好", False, "张伟"),  # line 3: not fraud, but a fraud speaker
        make_record("王五: 转账给我\n李强: 好", True, ""),  # line 4: fraud without a fraud speaker
        make_record("王五: 转账给我\n李强: 好", True, "赵六"),  # line 5: fraud speaker not in the dialogue
        make_record("发言人1: 好的\n发言人2: 嗯", False),
    ]
    report = audit({"x": records})
    finding = only(report, "consistency")
    assert finding.level == "warn"
    figures = finding.figures
    assert figures["empty_input"]["lines"] == [2]
    assert figures["false_with_fraud_speaker"]["lines"] == [3]
    assert figures["true_without_fraud_speaker"]["lines"] == [4]
    assert figures["fraud_speaker_not_in_dialogue"]["lines"] == [5]
    assert "line(s) 3" in report.to_text()


def test_duplicates_with_agreeing_labels_only_warn(planted, only):
    train = planted["train"]
    train[41] = {**train[31]}  # the conflicting copy now agrees: 40-42 repeat 30-32 with their labels
    dup = only(audit({"train": train}), "duplicates", "train")
    assert dup.figures["conflicting_groups"] == 0 and dup.figures["duplicate_records"] == 3
    assert dup.level == "warn"  # 3 of 100 records reach within_duplicate_warn_share
