"""The leakage check across splits: duplicated inputs and shared meaningful lines are counted exactly,
thresholds set the level, and formulaic (template, boilerplate) lines are no leak."""

from __future__ import annotations

import random

import pytest

from fraudft.audit import AuditConfig, audit


def test_planted_leaks_are_counted_exactly(planted, only):
    leak = only(audit(planted), "leakage")
    assert leak.level == "fail" and leak.split is None and leak.figures["pair"] == ["train", "test"]
    train, test = leak.figures["train"], leak.figures["test"]
    assert (train["duplicated"], test["duplicated"]) == (4, 4)
    assert test["duplicated_lines"] == [1, 2, 3, 4] and train["duplicated_lines"] == [1, 2, 3, 4]
    assert test["duplicated_share"] == pytest.approx(4 / 50)
    assert (train["sharing_line"], test["sharing_line"]) == (10, 10)
    assert test["sharing_lines"] == [1, 2, 3, 4, 11, 12, 13, 14, 15, 16]
    assert leak.figures["shared_lines"] == 4 * 3 + 6 and leak.figures["formulaic_shared_lines"] == 0
    assert leak.figures["duplicate_inputs"] == 4


def test_every_pair_is_checked_in_split_order(planted):
    report = audit({**planted, "eval": planted["test"][20:]})
    assert [f.figures["pair"] for f in report.select("leakage")] == [["train", "test"], ["train", "eval"], ["test", "eval"]]
    assert audit({"train": planted["train"]}).select("leakage") == []


def test_only_duplicates_warn_below_the_fail_share(random_split, only):
    # one duplicate in 100 and 50 records is 2% of test: fail; with a 5% threshold it is a warn
    rng = random.Random(1)
    train, test = random_split(rng, 100), random_split(rng, 50)
    test[0] = {**train[0]}
    assert only(audit({"train": train, "test": test}), "leakage").level == "fail"
    config = AuditConfig(duplicate_fail_share=0.05, shared_line_warn_share=0.05, shared_line_fail_share=0.1)
    assert only(audit({"train": train, "test": test}, config), "leakage").level == "warn"


def test_formulaic_lines_are_not_leaks(random_split, han, only):
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


# --- keys are NFKC-normalised; copies with the opposite label are label conflicts (issue 16, item 4) ---

ASCII_FOR_WIDE = str.maketrans({"，": ",", "？": "?", "。": ".", "！": "!", "：": ":"})


def to_ascii_punctuation(text: str) -> str:
    """The text as an ASCII rewrite would have it: `，？。！：` as `,?.!:`, and full-width letters/digits."""
    return text.translate(ASCII_FOR_WIDE)


def test_width_only_variants_are_duplicates_and_share_lines(random_split, han, only):
    rng = random.Random(5)
    train, test = random_split(rng, 40), random_split(rng, 20)
    for k in range(3):  # full-width punctuation, digits and letters in train; the ASCII rewrite in test
        wide = "\n".join(f"发言人{j % 2 + 1}: {han(rng, 8)}，{han(rng, 6)}？ＡＢ１２。" for j in range(3))
        train[k] = {**train[k], "input": wide}
        test[k] = {**train[k], "input": to_ascii_punctuation(wide).replace("ＡＢ１２", "AB12")}
        assert test[k]["input"] != train[k]["input"]
    leak = only(audit({"train": train, "test": test}), "leakage")
    assert leak.figures["test"]["duplicated_lines"] == [1, 2, 3] and leak.figures["train"]["duplicated"] == 3
    assert leak.figures["test"]["sharing_lines"] == [1, 2, 3] and leak.figures["shared_lines"] == 9
    assert leak.level == "fail"
    # the examples show the lines as written (full-width, as first seen in train), not their keys
    assert all("，" in line and "," not in line for line in leak.figures["examples"])


def test_width_only_variants_are_duplicates_inside_a_split(random_split, only):
    records = random_split(random.Random(6), 30)
    records[10] = {**records[0], "input": records[0]["input"].replace("。", ".").replace("发言人1", "发言人１")}
    assert only(audit({"t": records}), "duplicates").figures["examples"] == [[1, 11]]


def test_an_opposite_label_copy_across_splits_is_a_label_conflict(random_split, only):
    rng = random.Random(8)
    train, test = random_split(rng, 40), random_split(rng, 20)
    test[4] = {**train[30], "input": to_ascii_punctuation(train[30]["input"]), "label": not train[30]["label"],
               "fraud_speaker": "" if train[30]["label"] else "发言人1"}
    test[7] = dict(train[12])  # a copy with the same label: a leak, no conflict
    report = audit({"train": train, "test": test})
    conflict = only(report, "label_conflicts")
    assert conflict.level == "fail" and conflict.figures["pair"] == ["train", "test"]
    assert conflict.figures["conflicts"] == 1 and conflict.figures["records"] == {"train": 1, "test": 1}
    assert conflict.figures["examples"] == [{"train": 31, "test": 5, "train_label": "fraud" if train[30]["label"] else "not_fraud",
                                             "test_label": "not_fraud" if train[30]["label"] else "fraud"}]
    assert "train line 31" in conflict.verdict and "test line 5" in conflict.verdict
    assert "[FAIL] label_conflicts train/test:" in report.to_text()
    assert only(report, "leakage").figures["test"]["duplicated_lines"] == [5, 8]


def test_no_conflict_without_opposite_labels(planted, only):
    conflict = only(audit(planted), "label_conflicts")  # planted has same-label copies across splits only
    assert conflict.level == "info" and conflict.figures["conflicts"] == 0
