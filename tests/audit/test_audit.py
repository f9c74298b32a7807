"""fraudft.audit.audit and `fraudft audit`: planted shortcuts are caught, clean data passes, bad input
is rejected, tiny and one-class splits work, the real eval split's speaker-tag shortcut is named, and
the CLI's exit codes."""

from __future__ import annotations

import json

import pytest

from fraudft.audit import audit
from fraudft.core.errors import DataError, DataWarning
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SHORTCUTS, SynthConfig, generate
from fraudft.data.transforms import neutralize_speakers

# What each planted shortcut must trip: (check, lowest acceptable level)
EXPECTED = {
    "speaker_tag": [("speaker_tags", "fail"), ("probe", "fail")],
    "length": [("length", "warn"), ("probe", "fail")],
    "turns": [("turns", "warn"), ("probe", "fail")],
    "instruction": [("instruction", "fail"), ("probe", "fail")],
    "punctuation": [("probe", "fail"), ("ngrams", "warn")],
}
LEVEL_RANK = {"info": 0, "warn": 1, "fail": 2}


def test_bad_input_is_rejected(make_record):
    with pytest.raises(ValueError):
        audit({})
    with pytest.raises(ValueError):
        audit({"train": []})
    with pytest.raises(DataError, match="train:2: label"):
        audit({"train": [make_record("A: 1", True, "A"), {**make_record("B: 2", False), "label": "false"}]})
    with pytest.raises(ValueError, match="config: got dict"):
        audit({"train": [make_record()]}, {"probe_folds": 3})


# --- planted shortcuts -----------------------------------------------------------------------


def test_every_shortcut_has_an_expectation():
    assert set(EXPECTED) == set(SHORTCUTS)


@pytest.mark.parametrize("shortcut", SHORTCUTS)
def test_planted_shortcut_is_caught(shortcut, only):
    report = audit({"train": generate(SynthConfig(n=600, seed=0, shortcut=shortcut))})
    assert report.worst_level == "fail"
    for check, level in EXPECTED[shortcut]:
        finding = only(report, check, "train")
        assert LEVEL_RANK[finding.level] >= LEVEL_RANK[level], finding
    probe = only(report, "probe").figures
    assert probe["accuracy"] >= probe["majority_rate"] + 0.15
    top = [t["feature"] for t in probe["top_features"][:3]]
    expected_feature = {"speaker_tag": "tags_", "length": "chars", "turns": "turns", "instruction": "instruction",
                        "punctuation": "count ！"}[shortcut]
    assert any(f.startswith(expected_feature) for f in top), top


# --- clean data, tiny splits, token counts ---------------------------------------------------


def test_clean_synthetic_has_no_fail(clean_splits, only):
    report = audit(clean_splits)
    assert report.worst_level != "fail", [f for f in report.findings if f.level == "fail"]
    for split in clean_splits:
        for check in ("speaker_tags", "instruction", "length", "turns", "consistency"):
            assert only(report, check, split).level == "info"
    assert only(report, "leakage").level == "info"


def test_tiny_and_one_class_splits_do_not_crash(make_record, only):
    tiny = [make_record("A: 你好", True, "A"), make_record("B: 再见", False)]
    report = audit({"tiny": tiny, "one": [make_record("A: 在吗", True, "A")] * 3})
    assert only(report, "balance", "one").level == "warn"
    for check in ("length", "turns", "speaker_tags", "instruction", "ngrams", "probe"):
        assert only(report, check, "one").verdict == "skipped: the split does not have both classes"
    assert "skipped" in only(report, "probe", "tiny").verdict  # both classes, but too few for 2 folds
    assert only(report, "duplicates", "one").figures["duplicate_records"] == 2
    assert report.to_text()
    json.dumps(report.to_dict(), allow_nan=False)


def test_token_counts_with_tokenizer(tokenizer, only):
    records = generate(SynthConfig(n=100, seed=3))
    report = audit({"train": records}, tokenizer=tokenizer)
    tokens = only(report, "length").figures["tokens"]
    expected = sum(len(tokenizer(r["input"], add_special_tokens=False)["input_ids"]) for r in records if r["label"])
    assert tokens["fraud"]["mean"] == pytest.approx(expected / sum(r["label"] for r in records))
    assert "tokens" in report.to_text()


# --- CLI -------------------------------------------------------------------------------------


def test_clean_synthetic_cli_exits_0(tmp_path, run_cli, clean_splits):
    for name, records in clean_splits.items():
        write_jsonl(records, tmp_path / f"{name}.jsonl")
    rc, out, err = run_cli("audit", tmp_path / "train.jsonl", tmp_path / "eval.jsonl", "--tokenizer", "none")
    assert rc == 0, out + err
    assert "verdict:" in out and "== Leakage between splits ==" in out and "train/eval" in out
    rc, out, _ = run_cli("audit", tmp_path / "train.jsonl", tmp_path / "eval.jsonl", "--tokenizer", "none", "--json")
    report = json.loads(out)
    assert rc == 0 and report["splits"] == {"train": 600, "eval": 600}
    assert report["worst_level"] in ("info", "warn")


def test_cli_fail_on_levels(tmp_path, run_cli):
    path = tmp_path / "train.jsonl"
    write_jsonl(generate(SynthConfig(n=300, seed=0, shortcut="instruction")), path)
    assert run_cli("audit", path, "--tokenizer", "none")[0] == 1
    assert run_cli("audit", path, "--tokenizer", "none", "--fail-on", "never")[0] == 0
    # warn-only data: a turns difference without a probe fail is rare; an inconsistent record is a warn
    records = generate(SynthConfig(n=200, seed=1))
    records[0] = {**records[0], "label": False, "fraud_speaker": "某人"}
    write_jsonl(records, path)
    rc, out, _ = run_cli("audit", path, "--tokenizer", "none", "--json")
    assert json.loads(out)["worst_level"] == "warn" and rc == 0
    assert run_cli("audit", path, "--tokenizer", "none", "--fail-on", "warn")[0] == 1


def test_cli_conflicting_duplicates_inside_a_split_exit_1(tmp_path, run_cli, planted):
    path = tmp_path / "train.jsonl"
    write_jsonl(planted["train"], path)  # train 41 repeats train 31 with the other label
    rc, out, _ = run_cli("audit", path, "--tokenizer", "none")
    assert rc == 1
    assert "[FAIL]" in out.upper() and "conflicting labels (lines 32,42)" in out


def test_cli_bad_input_exits_2(tmp_path, run_cli):
    rc, _, err = run_cli("audit", tmp_path / "missing.jsonl", "--tokenizer", "none")
    assert rc == 2 and "missing.jsonl" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "A: 1", "label": "true", "fraud_speaker": "", "instruction": ""}\n', encoding="utf-8")
    rc, _, err = run_cli("audit", bad, "--tokenizer", "none")
    assert rc == 2 and "bad.jsonl:1: label" in err
    good = tmp_path / "good.jsonl"
    write_jsonl(generate(SynthConfig(n=20, seed=0)), good)
    rc, _, err = run_cli("audit", good, good, "--tokenizer", "none")
    assert rc == 2 and "twice" in err


def test_cli_split_names_from_stems_or_paths(tmp_path, run_cli):
    for folder in ("a", "b"):
        write_jsonl(generate(SynthConfig(n=40, seed=len(folder))), tmp_path / folder / "eval.jsonl")
    rc, out, _ = run_cli("audit", tmp_path / "a" / "eval.jsonl", tmp_path / "b" / "eval.jsonl",
                         "--tokenizer", "none", "--json", "--fail-on", "never")
    assert rc == 0 and sorted(json.loads(out)["splits"]) == sorted(
        [str(tmp_path / "a" / "eval.jsonl"), str(tmp_path / "b" / "eval.jsonl")])


# --- the real eval split ---------------------------------------------------------------------


def test_real_eval_speaker_tag_shortcut(real_report, only):
    finding = only(real_report, "speaker_tags", "eval")
    assert finding.level == "fail"
    numbered = finding.figures["formats"]["numbered"]
    assert numbered["fraud_share"] < 0.02 and numbered["not_fraud_share"] > 0.75
    assert finding.verdict.startswith("numbered (发言人N) tags in 0.0% of fraud vs")
    probe = only(real_report, "probe", "eval")
    assert probe.level == "fail" and probe.figures["top_features"][0]["feature"] == "tags_numbered"


def test_real_eval_turns_difference(real_report, only):
    turns = only(real_report, "turns", "eval")
    assert turns.level == "warn"
    figures = turns.figures["turns"]
    assert figures["fraud"]["mean"] > 4 and figures["not_fraud"]["mean"] < 2.5
    assert figures["cohens_d"] > 0.5 and figures["rank_biserial"] > 0.3
    text = real_report.to_text()
    assert "== Turns per class ==" in text and "turns mean 4.5 fraud vs 2.4 not fraud" in text


def test_real_eval_inconsistencies(real_report, only):
    figures = only(real_report, "consistency", "eval").figures
    assert figures["empty_input"]["lines"] == [123, 191, 1874]
    assert figures["false_with_fraud_speaker"]["count"] == 112


def test_real_eval_cli_exits_1(run_cli, shared_eval_path):
    with pytest.warns(DataWarning, match="3 record"):  # its 3 empty inputs
        rc, out, _ = run_cli("audit", shared_eval_path, "--tokenizer", "none")
    assert rc == 1
    assert "[FAIL] speaker_tags eval0819: numbered (发言人N) tags" in out
    assert "[FAIL] probe eval0819" in out and "[WARN] turns eval0819" in out


def test_real_eval_neutralized_has_no_speaker_tag_finding(real_eval, only):
    records, change = neutralize_speakers(real_eval)
    report = audit({"eval": records})
    assert only(report, "speaker_tags", "eval").level == "info"
    assert not any("发言人" in row["ngram"] for row in only(report, "ngrams", "eval").figures["exclusive"]["not_fraud"])
    assert change["distinct_tags_after"] < 30
