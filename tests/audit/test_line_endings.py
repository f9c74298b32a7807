"""Line endings in the audit (issue 16, item 6): when one class has CRLF line endings, the audit shows
`\\r` escaped, reports only n-grams that occur (with their true record counts), and line-ending style
is a surface feature of the probe, of the surface_probe baseline and of the speaker/format check."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudft.audit import AuditConfig, audit
from fraudft.audit.checks.ngrams import char_ngrams, check_ngrams
from fraudft.audit.features import escape, prepare_split, show, surface_features
from fraudft.experiment.baselines import surface_probe
from fraudft.synthetic import SynthConfig, generate


def crlf_fraud(records: list[dict]) -> list[dict]:
    """The records with the fraud ones' line endings turned into CRLF, the others left LF."""
    return [{**r, "input": r["input"].replace("\n", "\r\n")} if r["label"] else r for r in records]


@pytest.fixture(scope="module")
def crlf_split():
    return crlf_fraud(generate(SynthConfig(n=300, seed=2)))


@pytest.fixture(scope="module")
def crlf_report(crlf_split):
    return audit({"crlf": crlf_split})


def reported_ngrams(figures: dict) -> list[dict]:
    return figures["fraud"] + figures["not_fraud"] + figures["exclusive"]["fraud"] + figures["exclusive"]["not_fraud"]


def assert_counts_are_true(records: list[dict], figures: dict) -> None:
    """Every reported n-gram's record counts are the numbers of records that contain it."""
    for row in reported_ngrams(figures):
        for name, label in (("fraud", True), ("not_fraud", False)):
            contain = sum(row["ngram"] in r["input"] for r in records if r["label"] == label)
            assert row[f"{name}_records"] == contain, (row, name)
        assert row["fraud_records"] + row["not_fraud_records"] > 0, row


def test_the_planted_data_is_what_it_says(crlf_split):
    assert all(("\r\n" in r["input"]) == r["label"] for r in crlf_split if "\n" in r["input"])
    assert sum(r["label"] for r in crlf_split) > 100


def test_ngrams_on_crlf_records_occur_and_are_shown_escaped(crlf_split, crlf_report, only):
    ngrams = only(crlf_report, "ngrams").figures
    assert_counts_are_true(crlf_split, ngrams)
    text = crlf_report.to_text()
    section = text.split("== Character n-grams")[1].split("\n== ")[0]
    shown = [row["ngram"] for row in reported_ngrams(ngrams)]
    assert any("\r" in gram for gram in shown)  # the CRLF ending is among the most fraud-like n-grams
    assert "\r" not in section and "\\r" in section
    # every quoted snippet of the section, read back through the escapes, occurs in some record
    for quoted in re.findall(r'"((?:[^"\\]|\\.)*)"', section):
        assert any(_unescape(quoted) in r["input"] for r in crlf_split), quoted


def _unescape(text: str) -> str:
    """The inverse of fraudft.audit.features.escape (as show writes it, quotes escaped)."""
    return re.sub(r'\\(n|r|t|\\|"|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})',
                  lambda m: {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}.get(m[1]) or chr(int(m[1][1:], 16)),
                  text)


@pytest.mark.parametrize("text", ["。\r\n", "a\tb", 'say "hi" \\ ok', "\x00\x7f\x85", "\u3000\u200b\u2028", "发言人1: 好"])
def test_show_escapes_every_invisible_character_and_reads_back(text):
    shown = show(text)
    assert shown.startswith('"') and shown.endswith('"') and _unescape(shown[1:-1]) == text
    assert all(c == " " or c.isprintable() for c in shown)
    assert escape("。\r\n") == "。\\r\\n" and escape("发言人1") == "发言人1"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab。 \r\n\t", min_size=1, max_size=12), st.booleans()),
                min_size=4, max_size=20))
def test_every_reported_ngram_count_is_a_true_count(rows):
    records = [{"input": text, "label": label, "fraud_speaker": "", "instruction": "x"} for text, label in rows]
    split = prepare_split("t", records, tokenizer=None)
    if not split.has_both_classes:
        return
    config = AuditConfig(ngram_min_count=1, exclusive_min_records=1, ngram_top_k=5)
    figures = check_ngrams(split, config).figures
    if figures:
        assert_counts_are_true(records, figures)


def test_char_ngrams_take_the_text_as_written():
    assert char_ngrams("a\r\nb", 2) == ["a", "\r", "\n", "b", "a\r", "\r\n", "\nb"]
    assert char_ngrams("", 3) == [] and char_ngrams("ab", 3) == ["a", "b", "ab"]


def test_line_endings_are_probe_features_and_the_probe_separates_the_classes(crlf_split, crlf_report, only):
    x, names = surface_features(prepare_split("crlf", crlf_split, tokenizer=None))
    assert {"line_endings_lf", "line_endings_crlf", "line_endings_cr", "line_endings_mixed"} <= set(names)
    column = x[:, names.index("line_endings_crlf")]
    labels = np.array([r["label"] for r in crlf_split])
    multi = np.array(["\n" in r["input"] for r in crlf_split])
    assert (column[multi] == labels[multi]).all()
    probe = only(crlf_report, "probe")
    assert probe.figures["accuracy"] >= 0.98 and probe.level == "fail"
    assert probe.figures["top_features"][0]["feature"].startswith("line_endings_")


def test_the_surface_probe_baseline_reads_line_endings():
    train = crlf_fraud(generate(SynthConfig(n=300, seed=1)))
    test = crlf_fraud(generate(SynthConfig(n=300, seed=3)))
    scores = surface_probe(train, test)  # P(fraud); the run calls fraud at >= 0.5
    assert sum(int(r["label"]) == (s >= 0.5) for r, s in zip(test, scores)) / len(test) >= 0.98


def test_the_format_check_reports_the_line_ending_difference(crlf_report, only):
    finding = only(crlf_report, "speaker_tags")
    styles = finding.figures["line_endings"]["styles"]
    assert styles["crlf"]["fraud_share"] == 1.0 and styles["crlf"]["not_fraud_share"] == 0.0
    assert styles["lf"]["difference"] == -1.0 and styles["crlf"]["level"] == "fail"
    assert finding.level == "fail" and "CRLF (\\r\\n) line endings in 100.0% of fraud vs 0.0% of not-fraud" in finding.verdict
    assert "CRLF (\\r\\n)" in crlf_report.to_text()


def test_alike_line_endings_are_no_finding(only):
    records = generate(SynthConfig(n=200, seed=4))
    finding = only(audit({"t": [{**r, "input": r["input"].replace("\n", "\r\n")} for r in records]}), "speaker_tags")
    assert finding.figures["line_endings"]["styles"]["crlf"]["difference"] == 0.0
    assert finding.level == only(audit({"t": records}), "speaker_tags").level


def test_line_endings_are_not_compared_when_a_class_has_no_multi_line_record(make_record, only):
    records = [make_record(f"张伟: 转账{i}", True, "张伟") for i in range(10)]
    records += [make_record(f"发言人1: 你好{i}\n发言人2: 好", False) for i in range(10)]
    finding = only(audit({"t": records}), "speaker_tags")
    assert finding.figures["line_endings"]["styles"] == {} and "line endings" not in finding.verdict
