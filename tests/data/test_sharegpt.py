"""fraudft.data.formats.sharegpt: ShareGPT conversations (LLaMA-Factory's `conversations` and the OpenAI-style
`messages`) give the records of the equivalent JSONL; the user turn splits into instruction and
input; bad items are named by item and field."""

from __future__ import annotations

import json
import re

import pytest

from fraudft.core.errors import DataError
from fraudft.data.loading import detect_format, load_records
from fraudft.data.loading import load_jsonl
from fraudft.data.records import REFERENCE_INSTRUCTION
from fraudft.data.formats.sharegpt import split_user_turn
from tests.data.test_readers import error, write_json  # the readers' own test helpers


@pytest.fixture
def records(make_record):
    return [
        make_record(input="发言人1: 您好，我是银行客服。\n发言人2: 什么事？", label=True, fraud_speaker="发言人1", reason="冒充客服"),
        make_record(input="发言人1: 明天开会吗？\n发言人2: 开。", label=False, reason=""),
        make_record(input="", label=False, reason=""),  # the reference data has empty inputs
    ]


def answer(r) -> str:
    return json.dumps({"is_fraud": r["label"], "fraud_speaker": r["fraud_speaker"], "reason": r["reason"]}, ensure_ascii=False)


def conversations(records, system=None) -> list[dict]:
    items = [{"conversations": [{"from": "human", "value": r["instruction"] + r["input"]}, {"from": "gpt", "value": answer(r)}]}
             for r in records]
    return [{**item, "system": system} for item in items] if system is not None else items


def messages(records) -> list[dict]:
    return [{"messages": [{"role": "user", "content": r["instruction"] + r["input"]},
                          {"role": "assistant", "content": answer(r)}]} for r in records]


@pytest.mark.filterwarnings("ignore:.*empty input")
@pytest.mark.parametrize("build", [conversations, messages])
def test_both_spellings_give_the_records_of_the_equivalent_jsonl(tmp_path, write_jsonl_lines, records, build):
    path = write_json(tmp_path, build(records))
    assert detect_format(path) == "sharegpt"
    assert load_records(path) == load_jsonl(write_jsonl_lines(records)) == records


def test_a_system_prompt_is_kept_as_a_field_from_either_place(tmp_path, records):
    keyed = load_records(write_json(tmp_path, conversations(records[:2], system="你是反诈助手"), "a.json"))
    first_turn = [{"messages": [{"role": "system", "content": "你是反诈助手"}, *item["messages"]]} for item in messages(records[:2])]
    assert keyed == load_records(write_json(tmp_path, first_turn, "b.json")) == [{**r, "system": "你是反诈助手"} for r in records[:2]]


@pytest.mark.parametrize("turn, instruction", [
    (REFERENCE_INSTRUCTION + "发言人1: 喂\n发言人2: 嗯", REFERENCE_INSTRUCTION),   # the reference's: "\n...。\n"
    ("判断是否诈骗。\n发言人1: 喂", "判断是否诈骗。\n"),                           # LLaMA-Factory's join
    ("判断是否诈骗。发言人1: 喂", ""),                                               # no line break: all input
    ("第一行\n第二行\n发言人1: 喂", "第一行\n"),                                    # a 2-line instruction: its 2nd line stays in input
])
def test_the_user_turn_splits_after_its_first_line_break_and_joins_back(turn, instruction):
    got = split_user_turn(turn)
    assert got[0] == instruction and "".join(got) == turn


def test_the_answer_three_fields_and_is_fraud_alone(tmp_path, make_record):
    item = {"conversations": [{"from": "human", "value": "判断\n发言人1: 喂"}, {"from": "gpt", "value": '{"is_fraud": true}'}],
            "id": 7}
    assert load_records(write_json(tmp_path, [item])) == [make_record(instruction="判断\n", input="发言人1: 喂", label=True, id=7)]


@pytest.mark.parametrize("turns, field, why", [
    ([{"from": "human", "value": "x"}], "conversations", "no gpt turn, expected an optional system turn, then one human turn"),
    ([{"from": "gpt", "value": '{"is_fraud": true}'}], "conversations[0].from", "got 'gpt', expected 'human'"),
    ([{"from": "human", "value": "x"}, {"from": "gpt", "value": "是诈骗"}], "conversations[1].value", "not JSON (Expecting value"),
    ([{"from": "human", "value": "x"}, {"from": "gpt", "value": '{"reason": "r"}'}], "conversations[1].value", "no is_fraud in"),
    ([{"from": "human", "value": "x"}, {"from": "gpt", "value": '{"is_fraud": "true"}'}], "conversations[1].value",
     'is_fraud: got str "true", expected a JSON bool'),
    ([{"from": "human", "value": "x"}, {"from": "gpt", "value": '{"is_fraud": 1}'}], "conversations[1].value",
     "is_fraud: got int 1, expected a JSON bool"),
    ([{"from": "human", "value": "x"}, {"from": "gpt", "value": '{"is_fraud": true}'}, {"from": "human", "value": "y"}],
     "conversations[2]", "a turn after the gpt answer"),
    ([{"from": "human", "value": "x"}, {"from": "bot", "value": '{"is_fraud": true}'}], "conversations[1].from",
     'got str "bot", expected one of system, human, gpt'),
    ([{"from": "human"}, {"from": "gpt", "value": '{"is_fraud": true}'}], "conversations[0].value", "missing"),
    ([{"from": "human", "value": ["x"]}, {"from": "gpt", "value": '{"is_fraud": true}'}], "conversations[0].value",
     "got list"),
])
def test_a_bad_conversation_names_the_item_and_field(tmp_path, records, turns, field, why):
    items = conversations(records[:2])
    items[1]["conversations"] = turns
    path = write_json(tmp_path, items)
    with pytest.raises(DataError, match=error(path, "item 2", field) + re.escape(why)):
        load_records(path)


def test_a_messages_item_without_an_assistant_turn_names_the_item(tmp_path, records):
    items = messages(records[:2])
    items[0]["messages"] = items[0]["messages"][:1]
    path = write_json(tmp_path, items)
    with pytest.raises(DataError, match=error(path, "item 1", "messages") + "no assistant turn"):
        load_records(path)


def test_an_item_with_neither_list_is_named_under_format_sharegpt(tmp_path, records):
    items = conversations(records[:2])
    items[1] = {"dialogue": []}
    path = write_json(tmp_path, items)
    with pytest.raises(DataError, match=error(path, "item 2", "conversations") + "no conversations or messages"):
        load_records(path)


def test_a_column_map_renames_the_conversation_key(tmp_path, records):
    items = [{"dialog": item["conversations"]} for item in conversations(records[:2])]
    path = write_json(tmp_path, items)
    assert load_records(path, column_map="conversations=dialog") == records[:2]
