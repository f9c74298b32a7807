"""fraudft.modeling.loss: the label-position loss equals transformers' full-logit causal-LM loss, in value
and in the gradients of the LoRA parameters."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudft.modeling.encode import IGNORE_INDEX
from fraudft.modeling.lora import LoraSettings, add_lora
from fraudft.modeling.loss import causal_lm_of, label_position_loss
from fraudft.modeling.models import QWEN2_VOCAB, load_model

PAD = 151643
VALUE_TOL = dict(rel=1e-5, abs=1e-5)
GRAD_TOL = dict(rtol=1e-4, atol=1e-6)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def peft_model():
    """The tiny model with deterministic LoRA (no dropout) and a nonzero B, so that both A and B
    receive gradients (B starts at zero, which would leave every gradient of A at zero)."""
    model = add_lora(load_model("tiny", device="cpu"), LoraSettings(dropout=0.0))
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if ".lora_B." in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    model.train()
    return model


@pytest.fixture(scope="module")
def bare_model():
    model = load_model("tiny", device="cpu")
    model.train()
    return model


def random_batch(seed: int, rows: list[tuple[int, int]], width: int) -> dict:
    """rows: (length, prompt length) per example; right-padded to `width` with attention 0 and
    labels -100; labels are -100 on the prompt and random token ids on the answer."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.full((len(rows), width), PAD, dtype=torch.long)
    attention = torch.zeros_like(ids)
    labels = torch.full_like(ids, IGNORE_INDEX)
    for i, (length, prompt) in enumerate(rows):
        ids[i, :length] = torch.randint(0, QWEN2_VOCAB, (length,), generator=generator)
        attention[i, :length] = 1
        labels[i, prompt:length] = torch.randint(0, QWEN2_VOCAB, (length - prompt,), generator=generator)
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def n_items(batch: dict) -> int:
    return int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())


def full_loss(model, batch, num_items_in_batch=None):
    kwargs = {} if num_items_in_batch is None else {"num_items_in_batch": num_items_in_batch}
    return model(**batch, **kwargs).loss


def trainable_grads(model, loss_fn) -> dict:
    model.zero_grad(set_to_none=True)
    loss_fn().backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    return grads


BATCHES = {
    "single": ([(12, 5)], 12),
    "right_padded": ([(14, 6), (9, 4), (5, 1)], 14),
    "answer_only_at_end": ([(10, 9), (16, 8)], 16),
    "all_padded_width": ([(7, 2), (7, 3)], 11),
}


@pytest.mark.parametrize("name", sorted(BATCHES))
@pytest.mark.parametrize("items", [None, "exact", "accumulated"])
def test_value_equals_the_full_logit_loss(peft_model, name, items):
    rows, width = BATCHES[name]
    batch = random_batch(sorted(BATCHES).index(name), rows, width)
    num = {None: None, "exact": n_items(batch), "accumulated": 3 * n_items(batch) + 1}[items]
    with torch.no_grad():
        expected = full_loss(peft_model, batch, num)
        got = label_position_loss(peft_model, batch, num)
    assert got.item() == pytest.approx(expected.item(), **VALUE_TOL)
    assert got.dtype == torch.float32 and got.dim() == 0


def test_num_items_may_be_a_tensor(peft_model):
    batch = random_batch(7, [(10, 4), (6, 2)], 10)
    with torch.no_grad():
        as_int = label_position_loss(peft_model, batch, 20)
        as_tensor = label_position_loss(peft_model, batch, torch.tensor(20))
        expected = full_loss(peft_model, batch, 20)
    assert as_tensor.item() == pytest.approx(as_int.item(), rel=1e-6)
    assert as_tensor.item() == pytest.approx(expected.item(), **VALUE_TOL)


def test_num_items_normalises_a_sum():
    # With num_items_in_batch the loss is a sum over label positions divided by that count, so
    # doubling the count halves the loss (gradient accumulation relies on it).
    model = add_lora(load_model("tiny", device="cpu"), LoraSettings(dropout=0.0))
    batch = random_batch(8, [(9, 3), (9, 5)], 9)
    with torch.no_grad():
        mean = label_position_loss(model, batch)
        exact = label_position_loss(model, batch, n_items(batch))
        doubled = label_position_loss(model, batch, 2 * n_items(batch))
    assert exact.item() == pytest.approx(mean.item(), rel=1e-5)
    assert doubled.item() == pytest.approx(mean.item() / 2, rel=1e-5)


@pytest.mark.parametrize("items", [None, "accumulated"])
def test_lora_gradients_equal_those_of_the_full_logit_loss(peft_model, items):
    batch = random_batch(5, [(13, 5), (8, 3), (11, 10)], 13)
    num = None if items is None else 2 * n_items(batch)
    expected = trainable_grads(peft_model, lambda: full_loss(peft_model, batch, num))
    got = trainable_grads(peft_model, lambda: label_position_loss(peft_model, batch, num))
    assert got.keys() == expected.keys()
    assert any(".lora_A." in n for n in got) and any(".lora_B." in n for n in got)
    for name in expected:
        assert expected[name].abs().sum() > 0, name  # every adapter takes part
        torch.testing.assert_close(got[name], expected[name], **GRAD_TOL, msg=name)


def test_base_weights_get_no_gradient(peft_model):
    batch = random_batch(6, [(8, 3)], 8)
    peft_model.zero_grad(set_to_none=True)
    label_position_loss(peft_model, batch).backward()
    frozen = [p for p in peft_model.parameters() if not p.requires_grad]
    assert frozen and all(p.grad is None for p in frozen)
    peft_model.zero_grad(set_to_none=True)


def test_causal_lm_of_unwraps_peft(peft_model, bare_model):
    inner = causal_lm_of(peft_model)
    assert inner is peft_model.get_base_model()
    assert type(inner).__name__ == "Qwen2ForCausalLM"
    assert causal_lm_of(bare_model) is bare_model


def test_bare_model_and_unwrapped_peft_model(peft_model, bare_model):
    batch = random_batch(9, [(12, 4), (7, 2)], 12)
    with torch.no_grad():
        for model in (bare_model, causal_lm_of(peft_model)):
            for num in (None, n_items(batch)):
                expected = full_loss(model, batch, num)
                assert label_position_loss(model, batch, num).item() == pytest.approx(expected.item(), **VALUE_TOL)
        # The unwrapped model still carries the adapters: same value as through the wrapper.
        via_wrapper = label_position_loss(peft_model, batch)
        unwrapped = label_position_loss(causal_lm_of(peft_model), batch)
    assert unwrapped.item() == pytest.approx(via_wrapper.item(), rel=1e-6)


def test_bare_model_gradients(bare_model):
    batch = random_batch(10, [(9, 4), (6, 2)], 9)
    expected = trainable_grads(bare_model, lambda: full_loss(bare_model, batch))
    got = trainable_grads(bare_model, lambda: label_position_loss(bare_model, batch))
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], **GRAD_TOL, msg=name)


@st.composite
def batches(draw):
    n_rows = draw(st.integers(1, 3))
    width = draw(st.integers(2, 12))
    rows = []
    for _ in range(n_rows):
        length = draw(st.integers(2, width))
        prompt = draw(st.integers(1, length - 1))  # at least one label after the first token
        rows.append((length, prompt))
    seed = draw(st.integers(0, 2**16))
    accumulate = draw(st.sampled_from([None, 1, 4]))
    return rows, width, seed, accumulate


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches())
def test_property_value_equals_full_logit_loss(peft_model, drawn):
    rows, width, seed, accumulate = drawn
    batch = random_batch(seed, rows, width)
    num = None if accumulate is None else accumulate * n_items(batch)
    with torch.no_grad():
        expected = full_loss(peft_model, batch, num)
        got = label_position_loss(peft_model, batch, num)
    assert torch.isfinite(got)
    assert got.item() == pytest.approx(expected.item(), **VALUE_TOL)
