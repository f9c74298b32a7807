"""fraudft.metrics.answers: speaker accuracy and character ROUGE-L of the three-field answer."""

from __future__ import annotations

import pytest

from fraudft.metrics.answers import reason_rouge_l, rouge_l_chars, speaker_accuracy


def test_rouge_l_on_characters():
    # LCS of 骗子冒充客服 / 冒充客服诈骗 is 冒充客服: 4 of 6 characters each way.
    assert rouge_l_chars("骗子冒充客服", "冒充客服诈骗") == pytest.approx(2 / 3)
    assert rouge_l_chars("冒充客服", "冒充客服") == 1.0
    assert rouge_l_chars("冒充客服", "你好") == 0.0
    assert rouge_l_chars("a b", "ab") == 1.0  # whitespace is no character


def test_speaker_accuracy_counts_gold_fraud_records_only():
    labels = [True, True, True, False]
    gold = ["张三", "李四", "王五", ""]
    replied = [{"is_fraud": True, "fraud_speaker": "张三"}, {"is_fraud": True, "fraud_speaker": "李 四"}, None,
               {"is_fraud": False, "fraud_speaker": ""}]
    result = speaker_accuracy(labels, gold, replied)
    assert (result["correct"], result["n"]) == (1, 3)  # exact match; an invalid reply is a miss
    assert result["value"] == pytest.approx(1 / 3)
    assert result["denominator"] == "records whose gold label is fraud" and result["undefined"] is None
    none = speaker_accuracy([False], [""], [None])
    assert none["value"] is None and none["n"] == 0 and none["undefined"] == "no fraud record"


def test_reason_rouge_l_over_records_with_a_gold_reason():
    gold = ["骗子冒充客服", "冒充客服", "", None]
    replied = [{"reason": "冒充客服诈骗"}, {"reason": 3}, {"reason": "x"}, {"reason": "y"}]
    result = reason_rouge_l(gold, replied)
    assert result["n"] == 2  # empty and absent gold reasons are left out
    assert result["value"] == pytest.approx((2 / 3 + 0.0) / 2)  # a non-string reason scores 0
    assert reason_rouge_l([""], [None])["value"] is None
