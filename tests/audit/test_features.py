"""fraudft.audit.features: the dialogue parsing the checks rely on, the per-split features,
the effect sizes and the probe's surface features."""

from __future__ import annotations

import numpy as np
import pytest

from fraudft.audit.features import (
    PUNCTUATION,
    SPEAKER_FORMATS,
    effect_sizes,
    prepare_split,
    surface_features,
)
from fraudft.data.dialogue import (
    LINE_ENDINGS,
    line_ending_style,
    meaningful_lines,
    normalize_input,
    parse_dialogue,
    speaker_format,
    speakers_of,
)


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
    assert fmt in SPEAKER_FORMATS


def test_meaningful_lines_strip_tags_and_whitespace():
    text = "发言人1: 这是一句足够长的话，有十二个字以上。\n张伟:  这是一句足够长的话，有十二个字以上。\n李强: 太短了"
    assert meaningful_lines(text, 12) == {normalize_input("这是一句足够长的话，有十二个字以上。")}
    assert normalize_input(" a \n\n b\t c ") == "abc"


@pytest.mark.parametrize("variant", [
    "你好,请问是张先生吗?我是客服.",  # ASCII punctuation
    "你好，请问是张先生吗？我是客服。",  # full-width punctuation, ideographic full stop
    "你好，请问是张先生吗？我是客服．",  # full-width full stop
    " 你好, \r\n请问是张先生吗? 我是客服. ",  # whitespace, spaces after ASCII punctuation, a CRLF break
])
def test_keys_are_nfkc_and_blind_to_punctuation_width(variant):
    assert normalize_input(variant) == "你好,请问是张先生吗?我是客服."
    assert normalize_input("ＡＢＣ１２３ ㎏ ｶﾞ") == "ABC123kgガ" and normalize_input("“引号”‘单’、") == "\"引号\"'单',"
    assert meaningful_lines(f"发言人１：{variant}", 12) == meaningful_lines(f"张伟: {variant.strip()}", 12)


def test_line_endings_split_lines_and_have_a_style():
    assert parse_dialogue("A: 1\r\nB: 2\rC: 3\n\nD: 4") == [("A", "1"), ("B", "2"), ("C", "3"), ("D", "4")]
    assert [line_ending_style(t) for t in ("a\nb", "a\r\nb\r\n", "a\rb", "a\r\nb\nc", "ab")] == [
        "lf", "crlf", "cr", "mixed", None]


def test_prepare_split(make_record):
    records = [make_record("张伟: 转账！\n李强: 好的", True, "张伟"), make_record("发言人1: 你好", False)]
    split = prepare_split("x", records, tokenizer=None)
    assert split.labels.tolist() == [True, False] and split.has_both_classes
    assert split.chars.tolist() == [14, 8] and split.n_turns.tolist() == [2, 1] and split.tokens is None
    assert not prepare_split("y", records[:1], tokenizer=None).has_both_classes


def test_effect_sizes_known_values():
    fraud, not_fraud = np.array([3.0, 4.0, 5.0]), np.array([1.0, 2.0, 3.0])
    effect = effect_sizes(fraud, not_fraud)
    assert effect["cohens_d"] == pytest.approx(2.0)  # mean difference 2, pooled SD 1
    assert effect["auc"] == pytest.approx(8.5 / 9)  # 8 of 9 pairs larger, one tie counts half
    assert effect["rank_biserial"] == pytest.approx(2 * 8.5 / 9 - 1)
    assert effect_sizes(np.array([2.0, 2.0]), np.array([1.0, 1.0]))["cohens_d"] == float("inf")


def test_surface_features_columns(make_record):
    records = [make_record("张伟: 转账！！\n李强: 123", True, "张伟"),
               make_record("发言人1: 你好。", False, instruction="另一个指令")]
    x, names = surface_features(prepare_split("x", records, tokenizer=None))
    assert x.shape == (2, len(names)) and len(names) == 5 + len(SPEAKER_FORMATS) + len(LINE_ENDINGS) + len(PUNCTUATION) + 1 + 2
    row = dict(zip(names, x[0]))
    assert (row["chars"], row["turns"], row["speakers"], row["tags_name"]) == (16, 2, 2, 1.0)
    assert (row["count ！"], row["digits"]) == (2, 3)
    assert dict(zip(names, x[1]))["tags_numbered"] == 1.0
    assert sum(name.startswith("instruction #") for name in names) == 2
