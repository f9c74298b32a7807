"""fraudft.audit: planted shortcuts are caught, clean data passes, leakage and inconsistencies are
counted exactly, the real eval split's speaker-tag shortcut is named, and the CLI exit codes."""

from __future__ import annotations

import dataclasses
import json
import random
import warnings
from pathlib import Path

import pytest

from fraudft.audit import AuditConfig, AuditReport, Finding, audit
from fraudft.dialogue import (
    meaningful_lines,
    normalize_input,
    parse_dialogue,
    speaker_format,
    speakers_of,
)
from fraudft.records import (
    REFERENCE_INSTRUCTION,
    DataError,
    DataWarning,
    load_jsonl,
    write_jsonl,
)
from fraudft.synthetic import SHORTCUTS, SynthConfig, generate
from fraudft.transforms import neutralize_speakers

REAL_EVAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "eval0819.jsonl"


# --- helpers ---------------------------------------------------------------------------------




def record(input: str, label: bool, fraud_speaker: str = "", instruction: str = REFERENCE_INSTRUCTION) -> dict:
    return {"input": input, "label": label, "fraud_speaker": fraud_speaker, "instruction": instruction}


def han(rng: random.Random, n: int) -> str:
    """n random CJK characters: a line no template shares."""
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def random_split(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        label = i % 2 == 0
        text = "\n".join(f"发言人{k % 2 + 1}: {han(rng, 20)}。" for k in range(3))
        out.append(record(text, label, "发言人1" if label else ""))
    return out


def only(report: AuditReport, check: str, split: str | None = None) -> Finding:
    found = report.select(check, split)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def clean_splits():
    return {"train": generate(SynthConfig(n=600, seed=0)), "eval": generate(SynthConfig(n=600, seed=1))}


@pytest.fixture(scope="module")
def real_eval():
    if not REAL_EVAL.exists():
        pytest.skip("../shared/data/eval0819.jsonl is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its 3 empty inputs
        return load_jsonl(REAL_EVAL)


@pytest.fixture(scope="module")
def real_report(real_eval):
    return audit({"eval": real_eval})


# --- parsing ---------------------------------------------------------------------------------


def test_parse_dialogue_tags_and_untagged_lines():
    text = "发言人3: 你好：请讲。\n\n张伟：在吗\n第一，网络赌博打着棋牌游戏的幌子\n  客服 : 您好"
    assert parse_dialogue(text) == [
        ("发言人3", "你好：请讲。"), ("张伟", "在吗"), (None, "第一，网络赌博打着棋牌游戏的幌子"), ("客服", "您好"),
    ]
    assert speakers_of("A: 1\nB: 2\nA: 3") == ["A", "B"]
    assert speakers_of("") == []


@pytest.mark.parametrize(
    "tag, fmt",
    [("发言人3", "numbered"), ("发言人12", "numbered"), ("Speaker 2", "numbered"),
     ("张伟", "name"), ("王小明", "name"), ("李女士", "name"), ("王某", "name"), ("张某某", "name"),
     ("小王", "name"), ("老陈", "name"), ("张**", "name"), ("王阿姨", "name"),
     ("客服", "role"), ("诈骗者", "role"), ("诈骗者1", "role"), ("骗子", "role"), ("民警", "role"),
     ("李客服", "role"), ("受害者(周某)", "role"), ("nan", "other"), ("A", "other"), ("小刘同学妈妈", "role")],
)
def test_speaker_format(tag, fmt):
    assert speaker_format(tag) == fmt


def test_meaningful_lines_strip_tags_and_whitespace():
    text = "发言人1: 这是一句足够长的话，有十二个字以上。\n张伟:  这是一句足够长的话，有十二个字以上。\n李强: 太短了"
    assert meaningful_lines(text, 12) == {"这是一句足够长的话，有十二个字以上。"}
    assert normalize_input(" a \n\n b\t c ") == "a b c"


# --- config and report -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"probe_fail_margin": 1.5}, {"probe_warn_margin": 0.2, "probe_fail_margin": 0.1}, {"ngram_max_n": 0},
     {"probe_folds": 1}, {"effect_size_warn": 0}, {"line_min_chars": 2.5}, {"min_class_share": float("nan")},
     {"speaker_format_warn": "0.2"}, {"rank_biserial_warn": 1.5}],
)
def test_config_rejects_bad_values(changes):
    with pytest.raises(ValueError):
        AuditConfig(**changes)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AuditConfig().probe_fail_margin = 0.5


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        audit({})
    with pytest.raises(ValueError):
        audit({"train": []})
    with pytest.raises(DataError, match="train:2: label"):
        audit({"train": [record("A: 1", True, "A"), {**record("B: 2", False), "label": "false"}]})


def test_exit_code_levels():
    report = AuditReport(splits={"x": 1}, findings=[Finding("balance", "x", "warn", "w")])
    assert report.worst_level == "warn"
    assert (report.exit_code("fail"), report.exit_code("warn"), report.exit_code("never")) == (0, 1, 0)
    report.findings.append(Finding("probe", "x", "fail", "f"))
    assert (report.exit_code("fail"), report.exit_code("never")) == (1, 0)
    with pytest.raises(ValueError):
        report.exit_code("sometimes")
    assert AuditReport(splits={}, findings=[]).worst_level == "info"


# --- planted shortcuts -----------------------------------------------------------------------

# What each planted shortcut must trip: (check, lowest acceptable level)
EXPECTED = {
    "speaker_tag": [("speaker_tags", "fail"), ("probe", "fail")],
    "length": [("length", "warn"), ("probe", "fail")],
    "turns": [("turns", "warn"), ("probe", "fail")],
    "instruction": [("instruction", "fail"), ("probe", "fail")],
    "punctuation": [("probe", "fail"), ("ngrams", "warn")],
}
LEVEL_RANK = {"info": 0, "warn": 1, "fail": 2}


def test_every_shortcut_has_an_expectation():
    assert set(EXPECTED) == set(SHORTCUTS)


@pytest.mark.parametrize("shortcut", SHORTCUTS)
def test_planted_shortcut_is_caught(shortcut):
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


def test_probe_needs_a_significant_margin():
    records = generate(SynthConfig(n=40, seed=0, shortcut="speaker_tag"))
    assert only(audit({"t": records}), "probe").level == "fail"
    probe = only(audit({"t": records}, AuditConfig(probe_alpha=1e-15)), "probe")
    assert probe.level == "info" and "not significantly above" in probe.verdict
    assert probe.figures["p_value"] == pytest.approx(0.5**40, rel=0.01)


def test_speaker_tag_shortcut_figures():
    report = audit({"train": generate(SynthConfig(n=600, seed=0, shortcut="speaker_tag"))})
    formats = only(report, "speaker_tags").figures["formats"]
    assert formats["numbered"]["not_fraud_share"] == 1.0 and formats["numbered"]["fraud_share"] == 0.0
    assert "numbered" in only(report, "speaker_tags").verdict


def test_length_and_turns_figures():
    report = audit({"train": generate(SynthConfig(n=600, seed=0, shortcut="turns"))})
    turns = only(report, "turns").figures["turns"]
    assert turns["fraud"]["min"] >= 6 and turns["not_fraud"]["max"] <= 3
    assert turns["cohens_d"] > 2 and turns["rank_biserial"] == 1.0 and turns["auc"] == 1.0
    length = only(audit({"train": generate(SynthConfig(n=600, seed=0, shortcut="length"))}), "length")
    assert length.figures["chars"]["fraud"]["mean"] - length.figures["chars"]["not_fraud"]["mean"] > 200


def test_instruction_leak_figures():
    report = audit({"train": generate(SynthConfig(n=600, seed=0, shortcut="instruction"))})
    finding = only(report, "instruction")
    assert finding.figures["distinct"] == 2 and finding.figures["exclusive_share"] == 1.0
    assert {row["only_in"] for row in finding.figures["instructions"]} == {"fraud", "not_fraud"}


def test_punctuation_shortcut_shows_in_ngrams():
    report = audit({"train": generate(SynthConfig(n=600, seed=0, shortcut="punctuation"))})
    ngrams = only(report, "ngrams").figures
    assert any("！" in row["ngram"] for row in ngrams["fraud"][:3])
    assert any("！" in row["ngram"] for row in ngrams["exclusive"]["fraud"])


# --- clean data ------------------------------------------------------------------------------


def test_clean_synthetic_has_no_fail(clean_splits):
    report = audit(clean_splits)
    assert report.worst_level != "fail", [f for f in report.findings if f.level == "fail"]
    for split in clean_splits:
        assert only(report, "speaker_tags", split).level == "info"
        assert only(report, "instruction", split).level == "info"
        assert only(report, "length", split).level == "info"
        assert only(report, "turns", split).level == "info"
        assert only(report, "consistency", split).level == "info"
    assert only(report, "leakage").level == "info"


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


def test_report_dict_is_plain_json(clean_splits):
    report = audit({"train": clean_splits["train"][:200]})
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert {f["check"] for f in as_dict["findings"]} >= {
        "balance", "consistency", "length", "turns", "speaker_tags", "instruction", "ngrams", "probe", "duplicates"
    }
    assert as_dict["config"]["probe_fail_margin"] == AuditConfig().probe_fail_margin


def test_token_counts_with_tokenizer(tokenizer):
    records = generate(SynthConfig(n=100, seed=3))
    report = audit({"train": records}, tokenizer=tokenizer)
    tokens = only(report, "length").figures["tokens"]
    expected = sum(len(tokenizer(r["input"], add_special_tokens=False)["input_ids"]) for r in records if r["label"])
    assert tokens["fraud"]["mean"] == pytest.approx(expected / sum(r["label"] for r in records))
    assert "tokens" in report.to_text()


def test_tiny_and_one_class_splits_do_not_crash():
    tiny = [record("A: 你好", True, "A"), record("B: 再见", False)]
    report = audit({"tiny": tiny, "one": [record("A: 在吗", True, "A")] * 3})
    assert only(report, "balance", "one").level == "warn"
    assert "skipped" in only(report, "probe", "one").verdict
    assert report.to_text()
    json.dumps(report.to_dict(), allow_nan=False)


# --- leakage ---------------------------------------------------------------------------------


@pytest.fixture
def planted():
    """100 train and 50 test records of unique random lines, with planted leaks:
    test 0-3 repeat train 0-3 (whitespace changed); test 10-15 each carry one line of train 20-25
    under another speaker tag; train 40-42 repeat train 30, 31, 32 (41 with the other label)."""
    rng = random.Random(7)
    train, test = random_split(rng, 100), random_split(rng, 50)
    for k in range(4):
        test[k] = {**test[k], "input": train[k]["input"].replace(": ", ":   ") + "\n", "label": train[k]["label"],
                   "fraud_speaker": train[k]["fraud_speaker"]}
    for k in range(6):
        lines = test[10 + k]["input"].split("\n")
        lines[1] = "客服: " + train[20 + k]["input"].split("\n")[1].split(": ", 1)[1]
        test[10 + k] = {**test[10 + k], "input": "\n".join(lines)}
    for k in range(3):
        source = train[30 + k]
        flip = k == 1
        train[40 + k] = {**source, "label": source["label"] != flip,
                         "fraud_speaker": "发言人1" if source["label"] != flip else ""}
    return {"train": train, "test": test}


def test_planted_leaks_are_counted_exactly(planted):
    report = audit(planted)
    leak = only(report, "leakage")
    assert leak.level == "fail"
    train, test = leak.figures["train"], leak.figures["test"]
    assert (train["duplicated"], test["duplicated"]) == (4, 4)
    assert test["duplicated_lines"] == [1, 2, 3, 4] and train["duplicated_lines"] == [1, 2, 3, 4]
    assert test["duplicated_share"] == pytest.approx(4 / 50)
    assert (train["sharing_line"], test["sharing_line"]) == (10, 10)
    assert test["sharing_lines"] == [1, 2, 3, 4, 11, 12, 13, 14, 15, 16]
    assert leak.figures["shared_lines"] == 4 * 3 + 6 and leak.figures["formulaic_shared_lines"] == 0
    assert leak.figures["duplicate_inputs"] == 4


def test_duplicates_inside_a_split(planted):
    dup = only(audit(planted), "duplicates", "train")
    assert dup.figures["duplicate_records"] == 3 and dup.figures["groups"] == 3
    assert dup.figures["conflicting_groups"] == 1 and dup.figures["conflicting_examples"] == [[32, 42]]
    assert dup.level == "warn"
    assert only(audit(planted), "duplicates", "test").figures["duplicate_records"] == 0


def test_only_duplicates_warn_below_the_fail_share(planted):
    # one duplicate in 100 and 50 records is 2% of test: fail; with a 5% threshold it is a warn
    rng = random.Random(1)
    train, test = random_split(rng, 100), random_split(rng, 50)
    test[0] = {**train[0]}
    assert only(audit({"train": train, "test": test}), "leakage").level == "fail"
    config = AuditConfig(duplicate_fail_share=0.05, shared_line_warn_share=0.05, shared_line_fail_share=0.1)
    assert only(audit({"train": train, "test": test}, config), "leakage").level == "warn"


def test_formulaic_lines_are_not_leaks():
    rng = random.Random(3)
    train, test = random_split(rng, 60), random_split(rng, 60)
    boilerplate = "您好，请问有什么可以帮您的吗？"  # verbatim in many records of both splits
    template = "您好，这里是某某银行客服中心，请问您现在方便接听电话吗？"  # padded differently each time
    for split in (train, test):
        for k in range(6):
            split[k] = {**split[k], "input": split[k]["input"] + f"\n发言人2: {boilerplate}"}
        for k in range(6, 14):
            split[k] = {**split[k], "input": split[k]["input"] + f"\n发言人2: {template}{han(rng, 3)}"}
    same = f"{template}就这样"
    train[20] = {**train[20], "input": train[20]["input"] + f"\n发言人1: {same}"}
    test[20] = {**test[20], "input": test[20]["input"] + f"\n发言人1: {same}"}
    leak = only(audit({"train": train, "test": test}), "leakage")
    assert leak.figures["shared_lines"] == 0 and leak.figures["formulaic_shared_lines"] == 2
    assert leak.figures["test"]["sharing_any_line"] == 7 and leak.figures["test"]["sharing_line"] == 0
    assert leak.level == "info"


# --- inconsistent records --------------------------------------------------------------------


def test_inconsistent_records_are_reported_with_lines():
    records = [
        record("张伟: 我是银行客服\n李强: 什么事", True, "张伟"),
        record("", False),  # line 2: empty input
        record("张伟: 你好\n李强: 你好", False, "张伟"),  # line 3: not fraud, but a fraud speaker
        record("王五: 转账给我\n李强: 好", True, ""),  # line 4: fraud without a fraud speaker
        record("王五: 转账给我\n李强: 好", True, "赵六"),  # line 5: fraud speaker not in the dialogue
        record("发言人1: 好的\n发言人2: 嗯", False),
    ]
    finding = only(audit({"x": records}), "consistency")
    assert finding.level == "warn"
    figures = finding.figures
    assert figures["empty_input"]["lines"] == [2]
    assert figures["false_with_fraud_speaker"]["lines"] == [3]
    assert figures["true_without_fraud_speaker"]["lines"] == [4]
    assert figures["fraud_speaker_not_in_dialogue"]["lines"] == [5]
    assert "line(s) 3" in audit({"x": records}).to_text()


# --- CLI -------------------------------------------------------------------------------------


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


def test_real_eval_speaker_tag_shortcut(real_report):
    finding = only(real_report, "speaker_tags", "eval")
    assert finding.level == "fail"
    numbered = finding.figures["formats"]["numbered"]
    assert numbered["fraud_share"] < 0.02 and numbered["not_fraud_share"] > 0.75
    assert finding.verdict.startswith("numbered (发言人N) tags in 0.0% of fraud vs")
    probe = only(real_report, "probe", "eval")
    assert probe.level == "fail" and probe.figures["top_features"][0]["feature"] == "tags_numbered"


def test_real_eval_turns_difference(real_report):
    turns = only(real_report, "turns", "eval")
    assert turns.level == "warn"
    figures = turns.figures["turns"]
    assert figures["fraud"]["mean"] > 4 > 2.5 > figures["not_fraud"]["mean"]
    assert figures["cohens_d"] > 0.5 and figures["rank_biserial"] > 0.3
    text = real_report.to_text()
    assert "== Turns per class ==" in text and "turns mean 4.5 fraud vs 2.4 not fraud" in text


def test_real_eval_inconsistencies(real_report):
    figures = only(real_report, "consistency", "eval").figures
    assert figures["empty_input"]["lines"] == [123, 191, 1874]
    assert figures["false_with_fraud_speaker"]["count"] == 112


def test_real_eval_cli_exits_1(run_cli):
    if not REAL_EVAL.exists():
        pytest.skip("../shared/data/eval0819.jsonl is absent")
    with pytest.warns(DataWarning, match="3 record"):  # its 3 empty inputs
        rc, out, _ = run_cli("audit", REAL_EVAL, "--tokenizer", "none")
    assert rc == 1
    assert "[FAIL] speaker_tags eval0819: numbered (发言人N) tags" in out
    assert "[FAIL] probe eval0819" in out and "[WARN] turns eval0819" in out


def test_real_eval_neutralized_has_no_speaker_tag_finding(real_eval):
    records, change = neutralize_speakers(real_eval)
    report = audit({"eval": records})
    assert only(report, "speaker_tags", "eval").level == "info"
    assert not any("发言人" in row["ngram"] for row in only(report, "ngrams", "eval").figures["exclusive"]["not_fraud"])
    assert change["distinct_tags_after"] < 30
