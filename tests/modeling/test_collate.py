"""fraudft.modeling.collate: right padding for training, left padding for scoring, position ids
counted from each row's first real token."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudft.modeling.collate import Collator
from fraudft.modeling.encode import IGNORE_INDEX, EncodeConfig, Encoder

PAD = 151643


def example(n_prompt: int, answer: list[int], truncated: bool = False) -> dict:
    ids = list(range(1000, 1000 + n_prompt)) + answer
    return {
        "input_ids": ids,
        "attention_mask": [1] * len(ids),
        "labels": [IGNORE_INDEX] * n_prompt + answer,
        "truncated": truncated,
    }


def test_right_padding_for_training(tokenizer):
    short, long = example(2, [7, PAD]), example(4, [8, 9, PAD])
    batch = Collator(tokenizer, side="right")([short, long])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].tolist() == [
        [1000, 1001, 7, PAD, PAD, PAD, PAD],
        [1000, 1001, 1002, 1003, 8, 9, PAD],
    ]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0, 0], [1] * 7]
    assert batch["labels"].tolist() == [
        [IGNORE_INDEX, IGNORE_INDEX, 7, PAD, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX],
        [IGNORE_INDEX] * 4 + [8, 9, PAD],
    ]
    assert all(t.dtype == torch.long for t in batch.values())


def test_left_padding_for_scoring(tokenizer):
    short, long = example(2, [7, PAD]), example(4, [8, 9, PAD])
    batch = Collator(tokenizer, side="left")([short, long])
    assert batch["input_ids"].tolist() == [
        [PAD, PAD, PAD, 1000, 1001, 7, PAD],
        [1000, 1001, 1002, 1003, 8, 9, PAD],
    ]
    assert batch["attention_mask"].tolist() == [[0, 0, 0, 1, 1, 1, 1], [1] * 7]
    assert batch["labels"].tolist() == [
        [IGNORE_INDEX] * 5 + [7, PAD],
        [IGNORE_INDEX] * 4 + [8, 9, PAD],
    ]


@pytest.mark.parametrize("side", ["left", "right"])
def test_position_ids_count_from_each_rows_first_token(tokenizer, side):
    short, long = example(2, [7, PAD]), example(4, [8, 9, PAD])
    assert "position_ids" not in Collator(tokenizer, side=side)([short, long])  # opt-in: training adds its own
    batch = Collator(tokenizer, side=side, position_ids=True)([short, long])
    expected_short = [0, 0, 0, 0, 1, 2, 3] if side == "left" else [0, 1, 2, 3, 3, 3, 3]  # pads: masked anyway
    assert batch["position_ids"].tolist() == [expected_short, list(range(7))]
    assert batch["position_ids"].dtype == torch.long


def test_default_side_is_right(tokenizer):
    assert Collator(tokenizer).side == "right"


def test_truncated_key_is_dropped(tokenizer):
    batch = Collator(tokenizer)([example(3, [5, PAD], truncated=True), example(1, [5, PAD])])
    assert "truncated" not in batch
    assert set(batch) == {"input_ids", "attention_mask", "labels"}


def test_without_labels(tokenizer):
    features = [{"input_ids": [1, 2, 3], "attention_mask": [1, 1, 1]}, {"input_ids": [4], "attention_mask": [1]}]
    batch = Collator(tokenizer, side="left")(features)
    assert "labels" not in batch
    assert batch["input_ids"].tolist() == [[1, 2, 3], [PAD, PAD, 4]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]


def test_pad_to_multiple_of(tokenizer):
    batch = Collator(tokenizer, pad_to_multiple_of=8)([example(2, [7, PAD]), example(7, [8, PAD])])
    assert batch["input_ids"].shape == (2, 16)
    assert batch["labels"][0, 4:].tolist() == [IGNORE_INDEX] * 12


@pytest.mark.parametrize("side", ["middle", "LEFT", "", None])
def test_invalid_side(tokenizer, side):
    with pytest.raises(ValueError, match="side"):
        Collator(tokenizer, side=side)


def test_callers_tokenizer_is_untouched(tokenizer):
    before = tokenizer.padding_side
    left, right = Collator(tokenizer, side="left"), Collator(tokenizer, side="right")
    features = [example(1, [5, PAD]), example(3, [5, PAD])]
    left(features)
    right(features)
    left(features)
    assert tokenizer.padding_side == before == "right"
    # The shared backend must not have been switched to left padding either.
    padded = tokenizer(["你", "你是谁谁谁"], padding=True)
    assert padded["attention_mask"][0][0] == 1 and padded["attention_mask"][0][-1] == 0
    # And each collator keeps its own side whatever the other did.
    assert left(features)["attention_mask"][0].tolist()[0] == 0
    assert right(features)["attention_mask"][0].tolist()[-1] == 0


def test_collates_real_encodings(tokenizer, make_record):
    encoder = Encoder(tokenizer, EncodeConfig(max_length=90))
    encoded = encoder.encode_all([make_record(), make_record(input="发言人1: 喂？", label=True)])
    batch = Collator(tokenizer, side="left")(encoded)
    assert batch["input_ids"].shape[1] == max(len(e["input_ids"]) for e in encoded)
    for row, enc in zip(batch["input_ids"], encoded):
        assert row[-8:].tolist() == enc["input_ids"][-8:]  # answers aligned at the right for scoring


# --- property ---------------------------------------------------------------------------------

encoded_examples = st.lists(
    st.tuples(st.integers(0, 12), st.lists(st.integers(0, 150000), min_size=1, max_size=6)).map(
        lambda t: example(t[0], t[1])
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(features=encoded_examples, side=st.sampled_from(["left", "right"]))
def test_collation_properties(tokenizer, features, side):
    batch = Collator(tokenizer, side=side)(features)
    width = max(len(f["input_ids"]) for f in features)
    assert batch["input_ids"].shape == batch["attention_mask"].shape == batch["labels"].shape == (len(features), width)
    for i, feature in enumerate(features):
        ids, mask, labels = (batch[k][i].tolist() for k in ("input_ids", "attention_mask", "labels"))
        n, pad = len(feature["input_ids"]), width - len(feature["input_ids"])
        expected_mask = [0] * pad + [1] * n if side == "left" else [1] * n + [0] * pad
        assert mask == expected_mask
        assert [t for t, m in zip(ids, mask) if m] == feature["input_ids"]
        assert [t for t, m in zip(ids, mask) if not m] == [PAD] * pad
        assert [t for t, m in zip(labels, mask) if m] == feature["labels"]
        assert [t for t, m in zip(labels, mask) if not m] == [IGNORE_INDEX] * pad
    assert tokenizer.padding_side == "right"
