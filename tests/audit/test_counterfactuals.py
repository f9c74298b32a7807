"""fraudft.audit.counterfactuals: each set changes what it says, keeps labels and names what it left unchanged."""

from __future__ import annotations

import pytest

from fraudft.audit.counterfactuals import COUNTERFACTUALS, counterfactual, mask_top_ngrams, remove_role_words, \
    swap_speaker_names, top_ngrams
from fraudft.data.dialogue import speakers_of
from fraudft.experiment.splits import SPLIT_TRANSFORMS, Splits, split_for
from fraudft.data.records import REFERENCE_INSTRUCTION
from fraudft.synthetic import SynthConfig, generate


def record(input: str, label: bool, fraud_speaker: str = "") -> dict:
    return {"input": input, "label": label, "fraud_speaker": fraud_speaker, "instruction": REFERENCE_INSTRUCTION}


RECORDS = [
    record("诈骗者1: 把钱转过来\n受害人: 好的", True, "诈骗者1"),
    record("王芳: 你好\r\n发言人2: 在的", False),
    record("没有说话人的一段话", False),
    record("李明： 转账８０００元\r\n张伟： 好", True, "李明"),
    record("发言人1: 喂\n发言人2: 嗯", True),
]


@pytest.mark.parametrize("name", list(COUNTERFACTUALS))
def test_every_set_keeps_labels_order_and_counts_what_it_changed(name):
    out, report = counterfactual(name, RECORDS, train=RECORDS)
    assert [r["label"] for r in out] == [r["label"] for r in RECORDS] and len(out) == len(RECORDS)
    changed = sum(a != b for a, b in zip(RECORDS, out))
    assert report["records_changed"] == changed and report["records_unchanged"] == len(RECORDS) - changed
    assert [u["line"] for u in report["unchanged"]] == [i + 1 for i, (a, b) in enumerate(zip(RECORDS, out)) if a == b]
    assert sum(report["unchanged_why"].values()) == report["records_unchanged"]
    assert name in SPLIT_TRANSFORMS


def test_a_record_without_speaker_tags_is_named_never_a_silent_no_flip():
    for name in ("neutralize_speakers", "swap_speaker_names", "remove_role_words"):
        _, report = counterfactual(name, RECORDS)
        assert {"line": 3, "why": "no speaker tags"} in report["unchanged"], name


def test_swap_draws_names_from_the_other_class_seeded():
    records = generate(SynthConfig(n=60, seed=5))
    out, report = swap_speaker_names(records, seed=1)
    assert out == swap_speaker_names(records, seed=1)[0] and out != swap_speaker_names(records, seed=2)[0]
    names = {label: {t for r in records if r["label"] == label for t in speakers_of(r["input"])} for label in (True, False)}
    for before, after in zip(records, out):
        new = set(speakers_of(after["input"])) - set(speakers_of(before["input"]))
        assert new <= names[not before["label"]]
        if before["fraud_speaker"]:
            assert after["fraud_speaker"] in speakers_of(after["input"])
    assert report["records_changed"] > 0


def test_role_words_are_removed_from_speaker_names():
    out, report = remove_role_words(RECORDS)
    # 诈骗者1 leaves digits only, 受害人 nothing: both become numbered by order of appearance
    assert out[0]["input"] == "发言人1: 把钱转过来\n发言人2: 好的" and out[0]["fraud_speaker"] == "发言人1"
    assert report["records_changed"] == 1
    assert report["unchanged_why"]["no role words in speaker names"] == 3
    out, _ = remove_role_words([record("张警官: 您涉嫌洗钱\n骗子王: 嗯", True)])
    assert out[0]["input"] == "张: 您涉嫌洗钱\n王: 嗯"


def test_normalize_width_is_nfkc_and_lf():
    out, report = counterfactual("normalize_width", RECORDS)
    assert out[3]["input"] == "李明: 转账8000元\n张伟: 好" and out[1]["input"] == "王芳: 你好\n发言人2: 在的"
    assert report["records_changed"] == 2


def test_mask_top_ngrams_masks_the_train_splits_ngrams_in_test():
    train, test = generate(SynthConfig(n=200, seed=1)), generate(SynthConfig(n=20, seed=3))
    grams = top_ngrams(train)
    assert grams and not any(":" in g or "\n" in g for g in grams)
    out, report = mask_top_ngrams(test, train=train)
    assert report["ngrams"] == grams and report["records_changed"] > 0
    assert not any(g in r["input"] for r in out for g in grams)
    assert [len(a["input"]) for a in out] == [len(b["input"]) for b in test]  # same length, □ per character
    with pytest.raises(ValueError, match="give train"):
        mask_top_ngrams(test)


def test_split_transforms_keep_their_change_report():
    splits = Splits(train=RECORDS, eval=RECORDS, test=RECORDS, source="here")
    split_for(splits, "test", ("remove_role_words",))
    assert splits.changes["remove_role_words:test"]["records_changed"] == 1


def test_unknown_name():
    with pytest.raises(ValueError, match="counterfactual: got .nope., expected a counterfactual set, one of neutralize_speakers"):
        counterfactual("nope", RECORDS)


def test_append_transfer_request_changes_non_fraud_dialogues_only_with_their_own_speakers_and_endings():
    from fraudft.audit.counterfactuals import TRANSFER_REQUEST, append_transfer_request

    out, report = append_transfer_request(RECORDS)
    assert out[0] == RECORDS[0] and out[3] == RECORDS[3] and out[4] == RECORDS[4]  # fraud records as they were
    assert out[1]["input"] == f"王芳: 你好\r\n发言人2: 在的\r\n王芳: {TRANSFER_REQUEST}"  # not the last speaker; CRLF kept
    assert speakers_of(out[1]["input"]) == speakers_of(RECORDS[1]["input"])  # no new speaker tag
    assert out[2] == RECORDS[2]  # no speaker tags: left, and named
    assert report["unchanged_why"] == {"a fraud record (the set changes non-fraud dialogues only)": 3,
                                       "no speaker tags": 1}
    assert not out[1]["label"]  # the data's label is kept: a directional test, not a relabelling
