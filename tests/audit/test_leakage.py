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
