"""fraudft.modeling.encode: encoding records as the reference does (REFERENCE §2), keeping the answer."""

from __future__ import annotations

import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudft.modeling.encode import (
    IGNORE_INDEX,
    REFERENCE_PROMPT,
    EncodeConfig,
    Encoder,
    target_text,
    terminator_id,
)
from fraudft.modeling.taskformat import TaskFormat
from fraudft.data.records import REFERENCE_INSTRUCTION

GOLDEN_INPUT = (
    "发言人3: 现在我所在这个哪里能够工艺能够去把屈光做得很好的，去到这个省级医院是自治区医院跟"
    "广西医科大学这个附属医院他们还可以，他们一直保持比较好的一个一个手术量。\n发言人1: 就是"
)
GOLDEN_IDS = [
    151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 271, 100431,
    99639, 37474, 105051, 108704, 11, 220, 14880, 101042, 105051, 43815, 107189, 106037, 101052, 3837,
    23031, 2236, 68805, 66017, 103929, 104317, 59151, 9623, 761, 97957, 25, 830, 91233, 8, 8997,
    110395, 18, 25, 10236, 236, 108, 102865, 101393, 99487, 101314, 100006, 101189, 100006, 85336,
    99360, 102683, 99225, 106630, 104528, 3837, 85336, 26939, 99487, 104671, 100634, 20412, 104917,
    100634, 99557, 104366, 115203, 99487, 108398, 100634, 99650, 104468, 3837, 99650, 99725, 100662,
    99792, 99692, 46944, 46944, 104160, 32757, 8997, 110395, 16, 25, 58230, 109, 20412, 151645, 198,
    151644, 77091, 198, 4913, 285, 761, 97957, 788, 895, 92, 151643,
]  # fmt: skip
FALSE_TARGET = [4913, 285, 761, 97957, 788, 895, 92, 151643]
ASSISTANT_HEADER = [151644, 77091, 198]  # "<|im_start|>assistant\n"
PROMPT_HEAD, PROMPT_TAIL = REFERENCE_PROMPT.split("{text}")


def golden_record(**changes) -> dict:
    record = {"input": GOLDEN_INPUT, "label": False, "fraud_speaker": "", "instruction": REFERENCE_INSTRUCTION}
    return {**record, **changes}


def split_prompt(tokenizer, prompt_ids: list[int], instruction: str) -> str:
    """The dialogue inside an encoded reference prompt (asserting the template around it)."""
    text = tokenizer.decode(prompt_ids)
    assert text.startswith(PROMPT_HEAD + instruction), text
    assert text.endswith(PROMPT_TAIL), text
    return text[len(PROMPT_HEAD + instruction) : len(text) - len(PROMPT_TAIL)]


# --- the golden example ---------------------------------------------------------------------


def test_golden_example(tokenizer):
    assert "，" in GOLDEN_INPUT and "，" in REFERENCE_INSTRUCTION  # full-width commas, id 3837
    example = Encoder(tokenizer).encode(golden_record())
    assert len(GOLDEN_IDS) == 110
    assert example["input_ids"] == GOLDEN_IDS
    assert example["labels"] == [IGNORE_INDEX] * 102 + FALSE_TARGET
    assert example["attention_mask"] == [1] * 110
    assert example["truncated"] is False


IM_END = 151645


def test_chat_template_gives_the_reference_prompt_for_qwen2(tokenizer):
    # The prompt is the reference's; the answer ends as Qwen2's template ends an assistant turn.
    reference = Encoder(tokenizer, EncodeConfig(format=TaskFormat(prompt="reference")))
    chat = Encoder(tokenizer, EncodeConfig(format=TaskFormat(prompt="chat_template")))
    record = golden_record()
    assert chat.prompt_text(record["instruction"], record["input"]) == reference.prompt_text(
        record["instruction"], record["input"]
    )
    assert chat.terminator == IM_END
    assert chat.encode(record)["input_ids"] == GOLDEN_IDS[:-1] + [IM_END]


def test_targets(tokenizer):
    assert target_text(True) == '{"is_fraud": true}'
    assert target_text(False) == '{"is_fraud": false}'
    encoder = Encoder(tokenizer)
    assert encoder.target_ids[False] == FALSE_TARGET
    true_id = tokenizer(" true", add_special_tokens=False)["input_ids"]
    assert true_id == [830]
    assert encoder.target_ids[True] == [4913, 285, 761, 97957, 788, 830, 92, 151643]
    assert tokenizer.decode(encoder.target_ids[True][:-1]) == '{"is_fraud": true}'
    assert tokenizer.decode(encoder.target_ids[True]) == '{"is_fraud": true}<|endoftext|>'


def test_true_record_labels(tokenizer):
    example = Encoder(tokenizer).encode(golden_record(label=True))
    assert example["input_ids"][:102] == GOLDEN_IDS[:102]
    assert example["input_ids"][-4:] == [788, 830, 92, 151643]
    assert example["labels"] == [IGNORE_INDEX] * 102 + [4913, 285, 761, 97957, 788, 830, 92, 151643]


def test_terminator_is_pad_then_eos():
    assert terminator_id(types.SimpleNamespace(pad_token_id=7, eos_token_id=9)) == 7
    assert terminator_id(types.SimpleNamespace(pad_token_id=None, eos_token_id=9)) == 9
    assert terminator_id(types.SimpleNamespace(pad_token_id=0, eos_token_id=9)) == 0  # 0 is a valid id
    with pytest.raises(ValueError, match="neither a pad nor an eos"):
        terminator_id(types.SimpleNamespace(pad_token_id=None, eos_token_id=None))


# --- truncation -------------------------------------------------------------------------------


@pytest.mark.parametrize("max_length", [57, 60, 80, 100, 109])
def test_truncation_keeps_the_answer_and_a_dialogue_prefix(tokenizer, max_length):
    record = golden_record()
    example = Encoder(tokenizer, EncodeConfig(max_length=max_length)).encode(record)
    ids, labels = example["input_ids"], example["labels"]
    assert len(ids) <= max_length
    assert example["truncated"] is True
    assert ids[-len(FALSE_TARGET) :] == FALSE_TARGET
    assert ids[-len(FALSE_TARGET) - 3 : -len(FALSE_TARGET)] == ASSISTANT_HEADER
    assert labels == [IGNORE_INDEX] * (len(ids) - len(FALSE_TARGET)) + FALSE_TARGET
    assert example["attention_mask"] == [1] * len(ids)
    kept = split_prompt(tokenizer, ids[: -len(FALSE_TARGET)], REFERENCE_INSTRUCTION)
    assert GOLDEN_INPUT.startswith(kept)
    assert len(kept) < len(GOLDEN_INPUT)


def test_truncation_keeps_some_dialogue_when_there_is_room(tokenizer):
    example = Encoder(tokenizer, EncodeConfig(max_length=80)).encode(golden_record())
    kept = split_prompt(tokenizer, example["input_ids"][: -len(FALSE_TARGET)], REFERENCE_INSTRUCTION)
    assert kept.startswith("发言人3: 现在")


def test_exact_fit_is_not_truncated(tokenizer):
    example = Encoder(tokenizer, EncodeConfig(max_length=110)).encode(golden_record())
    assert example["input_ids"] == GOLDEN_IDS
    assert example["truncated"] is False


def test_long_record_keeps_its_answer_at_the_default_length(tokenizer):
    # The reference cut the concatenation at 2048 tokens from the end, dropping the answer.
    long_input = "\n".join(f"发言人{i % 4}: 您好，我是银行客服，您的账户存在风险，请把验证码告诉我。" for i in range(200))
    example = Encoder(tokenizer).encode(golden_record(input=long_input, label=True))
    assert example["truncated"] is True
    assert len(example["input_ids"]) <= 2048
    assert tokenizer.decode(example["input_ids"][-8:]) == '{"is_fraud": true}<|endoftext|>'
    kept = split_prompt(tokenizer, example["input_ids"][:-8], REFERENCE_INSTRUCTION)
    assert long_input.startswith(kept) and len(kept) > 1000


def test_untruncated_record(tokenizer, make_record):
    example = Encoder(tokenizer, EncodeConfig(max_length=512)).encode(make_record(label=True))
    assert example["truncated"] is False


def test_empty_dialogue_encodes(tokenizer, make_record):
    encoder = Encoder(tokenizer)
    example = encoder.encode(make_record(input=""))
    assert example["truncated"] is False
    assert split_prompt(tokenizer, example["input_ids"][:-8], REFERENCE_INSTRUCTION) == ""


def test_max_length_too_small_for_the_prompt(tokenizer):
    encoder = Encoder(tokenizer, EncodeConfig(max_length=56))  # the bare prompt is 49 tokens + 8
    with pytest.raises(ValueError, match=r"max_length: 56 .*without any dialogue.*larger max_length"):
        encoder.encode(golden_record())
    with pytest.raises(ValueError, match="max_length"):
        Encoder(tokenizer, EncodeConfig(max_length=5)).encode(golden_record(input=""))


def test_encode_all(tokenizer, make_record):
    records = [golden_record(), make_record(label=True)]
    encoder = Encoder(tokenizer)
    assert encoder.encode_all(records) == [encoder.encode(r) for r in records]
    assert encoder.encode_all([]) == []


# --- EncodeConfig -----------------------------------------------------------------------------


def test_encode_config_defaults():
    config = EncodeConfig()
    assert (config.max_length, config.format) == (2048, TaskFormat())
    assert config.format.to_dict() == {"prompt": "reference", "system_prompt": None, "separator": "", "answer": "is_fraud"}


@pytest.mark.parametrize("max_length", [0, -1, 1.5, "128", None])
def test_encode_config_rejects_bad_max_length(max_length):
    with pytest.raises(ValueError, match="max_length"):
        EncodeConfig(max_length=max_length)


@pytest.mark.parametrize("fmt", ["chat", None, {"prompt": "reference"}])
def test_encode_config_rejects_a_format_that_is_not_a_task_format(fmt):
    with pytest.raises(ValueError, match="format: .* expected a TaskFormat"):
        EncodeConfig(format=fmt)


def test_encode_config_is_frozen():
    with pytest.raises(AttributeError):
        EncodeConfig().max_length = 3  # type: ignore[misc]


# --- properties -------------------------------------------------------------------------------

HANZI = "你好我是银行客服请问您的账户有风险需要转账验证码谢谢再见屈光医院手术量投资回收效益"
PUNCT = "，。？！、：；“”（）《》,.?!:;()-'\"{}[]… "
RARE = "😀𠀀é"  # 4-byte UTF-8 characters (split across byte-level tokens) and a precomposed é
ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t"

fragments = st.one_of(
    st.text(alphabet=HANZI, min_size=1, max_size=25),
    st.text(alphabet=ASCII + PUNCT, min_size=1, max_size=12),
    st.text(alphabet=HANZI + ASCII + PUNCT + RARE + "\n\r", min_size=1, max_size=15),
    st.integers(0, 15).map(lambda n: f"发言人{n}: "),
    st.sampled_from(["\n", "\n\n", " \n", "\r\n"]),
)
dialogues = st.lists(fragments, max_size=30).map("".join)
records = st.builds(
    lambda dialogue, label, instruction: {
        "input": dialogue,
        "label": label,
        "fraud_speaker": "",
        "instruction": instruction,
    },
    dialogues,
    st.booleans(),
    st.sampled_from([REFERENCE_INSTRUCTION, "", "判断是否诈骗：\n", "Is this fraud?\n"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records, max_length=st.integers(60, 400))
def test_encoding_properties(tokenizer, record, max_length):
    encoder = Encoder(tokenizer, EncodeConfig(max_length=max_length))
    example = encoder.encode(record)
    ids, labels, mask = example["input_ids"], example["labels"], example["attention_mask"]
    target = encoder.target_ids[record["label"]]
    n_prompt = len(ids) - len(target)

    assert len(ids) <= max_length
    assert len(labels) == len(mask) == len(ids)
    assert mask == [1] * len(ids)
    # The answer and terminator are whole, at the end, right after the assistant header.
    assert ids[n_prompt:] == target
    assert ids[n_prompt - 3 : n_prompt] == ASSISTANT_HEADER
    # Labels: -100 exactly on the prompt, then the target ids.
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert labels[n_prompt:] == target and IGNORE_INDEX not in labels[n_prompt:]
    unmasked = [t for t in labels if t != IGNORE_INDEX]
    expected_answer = '{"is_fraud": true}' if record["label"] else '{"is_fraud": false}'
    assert tokenizer.decode(unmasked) == expected_answer + "<|endoftext|>"

    full_text = REFERENCE_PROMPT.format(text=record["instruction"] + record["input"]) + expected_answer
    full_ids = tokenizer(full_text + "<|endoftext|>", add_special_tokens=False)["input_ids"]
    assert example["truncated"] is (len(full_ids) > max_length)
    kept = split_prompt(tokenizer, ids[:n_prompt], record["instruction"])
    if example["truncated"]:
        assert record["input"].startswith(kept)
        assert len(kept) < len(record["input"])
    else:
        assert ids == full_ids
        assert kept == record["input"]


@pytest.mark.parametrize("prompt", ["reference", "chat_template"])
def test_a_tokenizer_from_a_checkpoint_folder_gives_the_golden_ids(tiny_checkpoint, prompt):
    from fraudft.modeling.tokenizer import load_tokenizer

    config = EncodeConfig(format=TaskFormat(prompt=prompt))
    example = Encoder(load_tokenizer(str(tiny_checkpoint)), config).encode(golden_record())
    end = [151643] if prompt == "reference" else [IM_END]  # the pad token, or Qwen2-Instruct's turn end
    assert example["input_ids"] == GOLDEN_IDS[:-1] + end
    assert example["labels"] == [IGNORE_INDEX] * 102 + FALSE_TARGET[:-1] + end
