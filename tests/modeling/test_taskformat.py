"""fraudft.modeling.taskformat: prompts, separators, answer schemas, terminators and the pad choice."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudft.core.errors import DataError, DataWarning, UsageError
from fraudft.modeling.collate import Collator
from fraudft.modeling.encode import IGNORE_INDEX, EncodeConfig, Encoder
from fraudft.modeling.taskformat import (
    ANSWERS,
    PROMPTS,
    TaskFormat,
    answer_token_budget,
    pad_token_id,
    read_saved_format,
    save_format,
)
from fraudft.data.records import REFERENCE_INSTRUCTION

THREE = TaskFormat(answer="is_fraud_speaker_reason")
# A Llama-3-style chat template (the shape of Meta-Llama-3-8B-Instruct's, written out here).
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


@pytest.fixture(scope="module")
def llama3_tokenizer(tokenizer):
    """The offline Qwen2 tokenizer made Llama-3-like: its special tokens and template, no pad token."""
    tok = copy.deepcopy(tokenizer)
    tok.add_special_tokens({"additional_special_tokens": LLAMA3_SPECIALS})
    tok.bos_token, tok.eos_token = "<|begin_of_text|>", "<|end_of_text|>"
    tok.pad_token = None
    tok.chat_template = LLAMA3_TEMPLATE
    assert tok.pad_token_id is None
    return tok


def record(**changes) -> dict:
    base = {"input": "张三: 请把验证码发给我。\n李四: 好的。", "label": True, "fraud_speaker": "张三",
            "reason": "冒充客服索要验证码", "instruction": "判断是否诈骗："}
    return {**base, **changes}


# --- the dataclass ----------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    (dict(prompt="chat"), "prompt"), (dict(answer="reason"), "answer"), (dict(separator=None), "separator"),
    (dict(prompt="chat_template", system_prompt=3), "system_prompt"), (dict(system_prompt="hi"), "system_prompt"),
])
def test_bad_formats_name_the_field(changes, field):
    with pytest.raises(ValueError, match=f"^{field}: .*expected"):
        TaskFormat(**changes)


def test_to_dict_and_back():
    fmt = TaskFormat(prompt="chat_template", system_prompt="你是专家", separator="\n", answer="is_fraud_speaker_reason")
    assert TaskFormat.from_dict(json.loads(json.dumps(fmt.to_dict()))) == fmt
    assert TaskFormat.from_dict({}) == TaskFormat()
    with pytest.raises(ValueError, match="unknown key.*template"):
        TaskFormat.from_dict({"template": "chat"})


def test_the_cli_choices_are_the_registries():
    from fraudft.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    choices = {a.dest: tuple(a.choices) for a in train._actions if a.dest in ("prompt", "answer")}
    assert choices == {"prompt": PROMPTS.names(), "answer": ANSWERS.names()}
    assert all(a.fields[0] == "is_fraud" for a in ANSWERS.values())  # score mode's shared prefix


def test_saved_format_round_trip(tmp_path):
    assert read_saved_format(tmp_path) is None
    save_format(tmp_path, THREE, 57)
    assert read_saved_format(tmp_path) == (THREE, 57)
    (tmp_path / "fraudft_format.json").write_text('{"format": {"answer": "x"}, "max_new_tokens": 5}')
    with pytest.raises(UsageError, match="fraudft_format.json: answer: got 'x'"):
        read_saved_format(tmp_path)


# --- prompts and separator ----------------------------------------------------------------------

def test_separator_joins_instruction_and_input(tokenizer):
    r = record()
    plain = Encoder(tokenizer).prompt_text(r["instruction"], r["input"])
    joined = Encoder(tokenizer, EncodeConfig(format=TaskFormat(separator="\n"))).prompt_text(r["instruction"], r["input"])
    assert "判断是否诈骗：张三" in plain
    assert joined == plain.replace("判断是否诈骗：张三", "判断是否诈骗：\n张三")


def test_chat_template_with_a_system_prompt(tokenizer):
    fmt = TaskFormat(prompt="chat_template", system_prompt="你是一个分析诈骗案例的专家")
    text = fmt.prompt_text(tokenizer, "指令", "对话")
    assert text == ("<|im_start|>system\n你是一个分析诈骗案例的专家<|im_end|>\n<|im_start|>user\n指令对话<|im_end|>\n"
                    "<|im_start|>assistant\n")


def test_qwen2_instruct_template_renders_the_reference_prompt(tiny_checkpoint):
    """What the gpu recipe's [format] comment says: chat_template = the reference string for Qwen2."""
    from fraudft.modeling.tokenizer import load_tokenizer

    tok = load_tokenizer(str(tiny_checkpoint))
    r = record(instruction=REFERENCE_INSTRUCTION)
    assert (TaskFormat(prompt="chat_template").prompt_text(tok, r["instruction"], r["input"])
            == TaskFormat().prompt_text(tok, r["instruction"], r["input"]))
    assert TaskFormat(prompt="chat_template").terminator(tok) == tok.convert_tokens_to_ids("<|im_end|>")


def test_llama3_style_template_without_a_pad_token(llama3_tokenizer):
    tok = llama3_tokenizer
    fmt = TaskFormat(prompt="chat_template", separator="\n", answer="is_fraud_speaker_reason")
    encoder = Encoder(tok, EncodeConfig(format=fmt))
    eot, eos = tok.convert_tokens_to_ids("<|eot_id|>"), tok.convert_tokens_to_ids("<|end_of_text|>")
    assert encoder.terminator == eot  # what the template writes after an answer, not eos
    assert pad_token_id(tok) == eos  # no pad token: eos pads
    example = encoder.encode(record())
    text = tok.decode(example["input_ids"])
    assert text.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n判断是否诈骗：\n张三")
    assert text.endswith('<|start_header_id|>assistant<|end_header_id|>\n\n{"is_fraud": true, "fraud_speaker": "张三", '
                         '"reason": "冒充客服索要验证码"}<|eot_id|>')
    assert text.count("<|begin_of_text|>") == 1
    # Collation pads with eos, masked out, without touching the caller's tokenizer.
    short = encoder.encode(record(input="张三: 你好"))
    batch = Collator(tok, side="left")([example, short])
    pads = len(example["input_ids"]) - len(short["input_ids"])
    assert batch["input_ids"][1, :pads].tolist() == [eos] * pads
    assert batch["attention_mask"][1, :pads].tolist() == [0] * pads
    assert batch["labels"][1, :pads].tolist() == [IGNORE_INDEX] * pads
    assert tok.pad_token is None


def test_reference_prompt_without_a_pad_token_ends_with_eos(llama3_tokenizer):
    assert Encoder(llama3_tokenizer).terminator == llama3_tokenizer.convert_tokens_to_ids("<|end_of_text|>")


@pytest.mark.parametrize("template, why", [
    ("{{ raise_exception('System role not supported') }}", "System role not supported"),
    (None, "chat"),
])
def test_a_template_that_fails_to_render_names_the_tokenizer(tokenizer, template, why):
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = template
    tok.name_or_path = "my-model"
    with pytest.raises(UsageError, match=f"^my-model: prompt chat_template: .*{why}.*--prompt reference"):
        Encoder(tok, EncodeConfig(format=TaskFormat(prompt="chat_template")))


# --- answer-preserving truncation under both prompts --------------------------------------------

dialogues = st.lists(st.sampled_from(["张三: ", "李四: ", "请把验证码发给我。", "好的", "\n", "转账", "abc ", "😀"]),
                     max_size=60).map(lambda parts: "".join(parts).strip())  # Llama-3 trims messages


@pytest.mark.parametrize("prompt", ["reference", "chat_template"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(dialogue=dialogues, max_length=st.integers(70, 200))
def test_truncation_keeps_the_answer(llama3_tokenizer, tokenizer, prompt, dialogue, max_length):
    tok = llama3_tokenizer if prompt == "chat_template" else tokenizer
    encoder = Encoder(tok, EncodeConfig(max_length=max_length, format=TaskFormat(prompt=prompt, answer="is_fraud_speaker_reason")))
    r = record(input=dialogue)
    example = encoder.encode(r)
    answer = encoder.answer_ids(r)
    ids = example["input_ids"]
    assert len(ids) <= max_length
    assert ids[-len(answer):] == answer
    assert example["labels"] == [IGNORE_INDEX] * (len(ids) - len(answer)) + answer
    whole = encoder.prompt_text(r["instruction"], dialogue)
    kept = tok.decode(ids[: -len(answer)])
    head, tail = whole.rsplit(dialogue, 1) if dialogue else (whole, "")
    assert kept.startswith(head) and kept.endswith(tail)
    assert dialogue.startswith(kept[len(head): len(kept) - len(tail)])


# --- answer schemas ------------------------------------------------------------------------------

def test_three_field_answer(tokenizer):
    encoder = Encoder(tokenizer, EncodeConfig(format=THREE))
    assert THREE.answer_text(record()) == '{"is_fraud": true, "fraud_speaker": "张三", "reason": "冒充客服索要验证码"}'
    assert THREE.answer_text(record(label=False, fraud_speaker="", reason="")) == (
        '{"is_fraud": false, "fraud_speaker": "", "reason": ""}')
    example = encoder.encode(record())
    unmasked = [t for t in example["labels"] if t != IGNORE_INDEX]
    assert tokenizer.decode(unmasked) == THREE.answer_text(record()) + "<|endoftext|>"
    assert answer_token_budget(encoder, [record(), record(reason="短")]) == len(unmasked) + 8


def test_score_mode_prefix_is_shared_by_both_schemas(tokenizer):
    from fraudft.engine.evaluate import answer_split

    one = answer_split(Encoder(tokenizer))
    three = answer_split(Encoder(tokenizer, EncodeConfig(format=THREE)))
    assert one == three
    assert tokenizer.decode(three[0]) == '{"is_fraud":'


def test_a_record_without_reason_is_a_data_error(tokenizer):
    no_reason = {k: v for k, v in record().items() if k != "reason"}
    with pytest.raises(DataError, match=r"^train.jsonl: record 2: reason: got None, expected a string"):
        THREE.check_records([record(), no_reason], "train.jsonl")
    with pytest.raises(DataError, match="reason: missing"):
        Encoder(tokenizer, EncodeConfig(format=THREE)).encode(no_reason)
    TaskFormat().check_records([no_reason], "train.jsonl")  # the one-field answer does not need it


def test_warns_once_when_the_instruction_asks_for_untrained_fields():
    asking = record(instruction="请找出发言者(fraud_speaker:<str>)并给出理由(reason:<str>)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TaskFormat().check_records([record(), asking, asking], "eval.jsonl")
        THREE.check_records([asking], "eval.jsonl")  # trained: no warning
    assert len(caught) == 1 and caught[0].category is DataWarning
    message = str(caught[0].message)
    assert message.startswith("eval.jsonl: 2 of 3 instructions ask for fraud_speaker or reason")
    assert "record 2" in message and "--answer is_fraud_speaker_reason" in message


def test_the_0902_instruction_draws_the_warning():
    path = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "eval0902.jsonl"
    if not path.exists():
        pytest.skip("../shared/data/eval0902.jsonl is absent")
    from fraudft.data.loading import load_records

    records = load_records(path)
    with pytest.warns(DataWarning, match=f"{len(records)} of {len(records)} instructions ask for fraud_speaker or reason"):
        TaskFormat().check_records(records, str(path))
    THREE.check_records(records, str(path))  # every 0902 record has a reason
