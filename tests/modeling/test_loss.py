"""fraudft.modeling.loss: the label-position loss equals the model's own full-logit loss, in value and
gradients, on left-padded batches, for Qwen2, Llama, Gemma-2 (final logit softcapping) and GPT-2
(learned positions); it runs through the wrapper it is given and falls back with a warning."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import (
    Gemma2Config,
    Gemma2ForCausalLM,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2ForCausalLM,
)

from fraudft.modeling.encode import IGNORE_INDEX
from fraudft.modeling.lora import LoraSettings, add_lora
from fraudft.modeling.loss import (
    LossFallbackWarning,
    accepts_logits_to_keep,
    causal_lm_of,
    label_position_loss,
    position_ids_for,
)
from fraudft.modeling.models import load_model

PAD = 0
VALUE_TOL = dict(rel=1e-5, abs=1e-5)
GRAD_TOL = dict(rtol=1e-4, atol=1e-6)
SMALL_VOCAB = 512

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_llama():
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=SMALL_VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, pad_token_id=PAD))


def tiny_gemma2():
    # Softcapping at 2.0 bends random logits a lot: a loss that skipped it would differ visibly.
    torch.manual_seed(0)
    return Gemma2ForCausalLM(Gemma2Config(
        vocab_size=SMALL_VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, query_pre_attn_scalar=8, max_position_embeddings=128, sliding_window=8,
        final_logit_softcapping=2.0, pad_token_id=PAD, initializer_range=0.5))


def tiny_gpt2():
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=SMALL_VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=1, eos_token_id=1,
                                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))  # no dropout: deterministic


def vocab_of(model) -> int:
    return causal_lm_of(model).config.vocab_size


@pytest.fixture(scope="module")
def peft_model():
    """The tiny Qwen2 with deterministic LoRA (no dropout) and a nonzero B, so that both A and B
    receive gradients (B starts at zero, which would leave every gradient of A at zero)."""
    model = add_lora(load_model("tiny", device="cpu"), LoraSettings(dropout=0.0))
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if ".lora_B." in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    model.train()
    return model


@pytest.fixture(scope="module", params=["llama", "gemma2", "gpt2"])
def small_model(request):
    model = {"llama": tiny_llama, "gemma2": tiny_gemma2, "gpt2": tiny_gpt2}[request.param]()
    model.train()
    return model


def random_batch(seed: int, rows: list[tuple[int, int]], width: int, vocab: int, side: str = "left") -> dict:
    """rows: (length, prompt length) per example, padded to `width` on `side` with attention 0 and
    labels -100; labels are -100 on the prompt and random token ids on the answer (the row's end)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.full((len(rows), width), PAD, dtype=torch.long)
    attention = torch.zeros_like(ids)
    labels = torch.full_like(ids, IGNORE_INDEX)
    for i, (length, prompt) in enumerate(rows):
        start = width - length if side == "left" else 0
        ids[i, start:start + length] = torch.randint(1, vocab, (length,), generator=generator)
        attention[i, start:start + length] = 1
        labels[i, start + prompt:start + length] = ids[i, start + prompt:start + length]
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def n_items(batch: dict) -> int:
    return int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())


def full_loss(model, batch, num_items_in_batch=None):
    """The model's own loss with full logits, on the same batch and positions."""
    kwargs = {} if num_items_in_batch is None else {"num_items_in_batch": num_items_in_batch}
    return model(**batch, position_ids=position_ids_for(batch["attention_mask"]), **kwargs).loss


def trainable_grads(model, loss_fn) -> dict:
    model.zero_grad(set_to_none=True)
    loss_fn().backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    return grads


def assert_grads_equal(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys() and expected
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], **GRAD_TOL, msg=name)


BATCHES = {
    "single": ([(12, 5)], 12),
    "left_padded": ([(14, 6), (9, 4), (5, 1)], 14),
    "answers_of_two_lengths": ([(10, 3), (16, 8)], 16),  # 7 and 8 labels, as true/false answers
    "all_padded_width": ([(7, 2), (7, 3)], 11),
}


# --- value and gradients --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BATCHES))
@pytest.mark.parametrize("items", [None, "exact", "accumulated"])
def test_value_equals_the_full_logit_loss(peft_model, name, items):
    rows, width = BATCHES[name]
    batch = random_batch(sorted(BATCHES).index(name), rows, width, vocab_of(peft_model))
    num = {None: None, "exact": n_items(batch), "accumulated": 3 * n_items(batch) + 1}[items]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error", LossFallbackWarning)  # no fallback on left-padded batches
        expected = full_loss(peft_model, batch, num)
        got = label_position_loss(peft_model, batch, num)
    assert got.item() == pytest.approx(expected.item(), **VALUE_TOL)
    assert got.dtype == torch.float32 and got.dim() == 0


def test_left_padded_equals_the_right_padded_standard_loss(peft_model):
    # The training path (left padding, label positions) against the standard one (right padding, full logits).
    rows, width = BATCHES["left_padded"]
    left = random_batch(3, rows, width, vocab_of(peft_model), side="left")
    right = random_batch(3, rows, width, vocab_of(peft_model), side="right")
    with torch.no_grad():
        assert label_position_loss(peft_model, left).item() == pytest.approx(peft_model(**right).loss.item(), **VALUE_TOL)


def test_num_items_may_be_a_tensor(peft_model):
    batch = random_batch(7, [(10, 4), (6, 2)], 10, vocab_of(peft_model))
    with torch.no_grad():
        as_int = label_position_loss(peft_model, batch, 20)
        as_tensor = label_position_loss(peft_model, batch, torch.tensor(20))
        expected = full_loss(peft_model, batch, 20)
    assert as_tensor.item() == pytest.approx(as_int.item(), rel=1e-6)
    assert as_tensor.item() == pytest.approx(expected.item(), **VALUE_TOL)


def test_num_items_normalises_a_sum(peft_model):
    # With num_items_in_batch the loss is a sum over label positions divided by that count, so
    # doubling the count halves the loss (gradient accumulation relies on it).
    batch = random_batch(8, [(9, 3), (9, 5)], 9, vocab_of(peft_model))
    with torch.no_grad():
        mean = label_position_loss(peft_model, batch)
        exact = label_position_loss(peft_model, batch, n_items(batch))
        doubled = label_position_loss(peft_model, batch, 2 * n_items(batch))
    assert exact.item() == pytest.approx(mean.item(), rel=1e-5)
    assert doubled.item() == pytest.approx(mean.item() / 2, rel=1e-5)


@pytest.mark.parametrize("items", [None, "accumulated"])
def test_lora_gradients_equal_those_of_the_full_logit_loss(peft_model, items):
    batch = random_batch(5, [(13, 5), (8, 3), (11, 4)], 13, vocab_of(peft_model))
    num = None if items is None else 2 * n_items(batch)
    expected = trainable_grads(peft_model, lambda: full_loss(peft_model, batch, num))
    got = trainable_grads(peft_model, lambda: label_position_loss(peft_model, batch, num))
    assert any(".lora_A." in n for n in got) and any(".lora_B." in n for n in got)
    assert all(g.abs().sum() > 0 for g in expected.values())  # every adapter takes part
    assert_grads_equal(got, expected)


def test_base_weights_get_no_gradient(peft_model):
    batch = random_batch(6, [(8, 3)], 8, vocab_of(peft_model))
    peft_model.zero_grad(set_to_none=True)
    label_position_loss(peft_model, batch).backward()
    frozen = [p for p in peft_model.parameters() if not p.requires_grad]
    assert frozen and all(p.grad is None for p in frozen)
    peft_model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("items", [None, "accumulated"])
def test_other_architectures_value_and_gradients(small_model, items):
    # Every parameter is trainable here: embeddings, norms and the head all get compared.
    batch = random_batch(11, [(12, 4), (7, 2), (10, 3)], 12, SMALL_VOCAB)
    num = None if items is None else 2 * n_items(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossFallbackWarning)
        expected = trainable_grads(small_model, lambda: full_loss(small_model, batch, num))
        got = trainable_grads(small_model, lambda: label_position_loss(small_model, batch, num))
        with torch.no_grad():
            value, reference = label_position_loss(small_model, batch, num), full_loss(small_model, batch, num)
    assert value.item() == pytest.approx(reference.item(), **VALUE_TOL)
    assert_grads_equal(got, expected)


def test_gemma2_softcapping_is_applied():
    # The head alone (lm_head of the last hidden state) gives a different loss: the cap is in the value.
    model = tiny_gemma2().eval()
    batch = random_batch(12, [(10, 3), (8, 2)], 10, SMALL_VOCAB)
    with torch.no_grad():
        got = label_position_loss(model, batch)
        model.config.final_logit_softcapping = None
        uncapped = full_loss(model, batch)
        model.config.final_logit_softcapping = 2.0
    assert abs(got.item() - uncapped.item()) > 0.1


def test_positions_count_from_each_rows_first_token():
    # GPT-2 has learned absolute positions: left padding is only right with these position ids.
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert position_ids_for(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]
    model = tiny_gpt2().eval()
    rows, width = [(12, 4), (6, 2)], 12
    left, right = (random_batch(13, rows, width, SMALL_VOCAB, side) for side in ("left", "right"))
    with torch.no_grad():
        standard = model(**right).loss.item()
        assert label_position_loss(model, left).item() == pytest.approx(standard, **VALUE_TOL)
        assert model(**left).loss.item() != pytest.approx(standard, **VALUE_TOL)  # HF's default arange


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.integers(2, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n - 1))), min_size=1, max_size=3),
    extra=st.integers(0, 3), seed=st.integers(0, 2**16), accumulate=st.sampled_from([None, 1, 4]),
)
def test_property_value_equals_full_logit_loss(peft_model, rows, extra, seed, accumulate):
    batch = random_batch(seed, rows, max(n for n, _ in rows) + extra, vocab_of(peft_model))
    num = None if accumulate is None else accumulate * n_items(batch)
    with torch.no_grad():
        expected = full_loss(peft_model, batch, num)
        got = label_position_loss(peft_model, batch, num)
    assert torch.isfinite(got)
    assert got.item() == pytest.approx(expected.item(), **VALUE_TOL)


# --- the span, the wrapper and the fallbacks ------------------------------------------------------


class Wrapper(torch.nn.Module):
    """Stands for DDP: holds the model as `.module` and must see every forward."""

    def __init__(self, module):
        super().__init__()
        self.module, self.calls = module, 0

    def forward(self, **kwargs):
        self.calls += 1
        return self.module(**kwargs)


def test_the_loss_runs_through_the_wrappers_forward(peft_model):
    batch = random_batch(14, [(9, 3), (7, 4)], 9, vocab_of(peft_model))
    seen = []
    handle = peft_model.register_forward_hook(lambda module, args, output: seen.append(output.logits.shape))
    try:
        wrapped = Wrapper(peft_model)
        assert causal_lm_of(wrapped) is peft_model.get_base_model() and accepts_logits_to_keep(wrapped)
        with torch.no_grad():
            got = label_position_loss(wrapped, batch)
            expected = full_loss(peft_model, batch)
    finally:
        handle.remove()
    assert wrapped.calls == 1
    labelled = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    assert seen[0][0] == labelled  # one row of logits per position that predicts a label, no more
    assert got.item() == pytest.approx(expected.item(), **VALUE_TOL)


def test_a_right_padded_batch_keeps_the_label_positions_too(peft_model):
    batch = random_batch(15, [(10, 4), (6, 2)], 10, vocab_of(peft_model), side="right")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error", LossFallbackWarning)
        got = label_position_loss(peft_model, batch)
        assert got.item() == pytest.approx(peft_model(**batch).loss.item(), **VALUE_TOL)


def test_a_batch_without_labels_falls_back_with_a_warning(peft_model):
    batch = random_batch(15, [(10, 4), (6, 2)], 10, vocab_of(peft_model))
    batch["labels"] = torch.full_like(batch["labels"], IGNORE_INDEX)
    with torch.no_grad(), pytest.warns(LossFallbackWarning, match="no label in the batch"):
        label_position_loss(peft_model, batch)


class NoLogitsToKeep(Qwen2ForCausalLM):
    """An architecture whose forward has no logits_to_keep argument."""

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, labels=None, **kwargs):
        return super().forward(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                               labels=labels, **kwargs)


def test_a_forward_without_logits_to_keep_falls_back_with_a_warning(peft_model):
    model = NoLogitsToKeep(causal_lm_of(peft_model).config)
    assert not accepts_logits_to_keep(model)
    batch = random_batch(16, [(9, 3), (7, 4)], 9, vocab_of(model))
    with torch.no_grad(), pytest.warns(LossFallbackWarning, match="NoLogitsToKeep.forward takes no logits_to_keep"):
        got = label_position_loss(model, batch, 5)
    with torch.no_grad():
        assert got.item() == pytest.approx(full_loss(model, batch, 5).item(), **VALUE_TOL)


def test_causal_lm_of_unwraps_peft_and_wrappers(peft_model):
    inner = peft_model.get_base_model()
    assert causal_lm_of(peft_model) is inner and type(inner).__name__ == "Qwen2ForCausalLM"
    assert causal_lm_of(Wrapper(Wrapper(peft_model))) is inner
    assert causal_lm_of(inner) is inner


def test_a_compiled_model_gives_the_same_loss_and_gradients(tokenizer):
    # TrainConfig.compile is CUDA only; the graph capture it relies on (TorchDynamo + AOTAutograd,
    # every backend's front end) is checked here on a padding-free batch, the default batching.
    # Inductor's code generation is checked on a GPU by bench/gpu_check.py.
    from transformers import DataCollatorWithFlattening

    from fraudft.modeling.encode import EncodeConfig, Encoder
    from fraudft.synthetic import SynthConfig, generate

    torch.manual_seed(0)
    model = add_lora(load_model("tiny", device="cpu"), LoraSettings(dropout=0.0))
    batch = DataCollatorWithFlattening()(
        Encoder(tokenizer, EncodeConfig(max_length=96)).encode_all(generate(SynthConfig(n=3, seed=0))))

    def loss_and_gradients(module):
        model.zero_grad()
        loss = label_position_loss(module, batch)
        loss.backward()
        return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}

    eager, eager_grads = loss_and_gradients(model)
    compiled, compiled_grads = loss_and_gradients(torch.compile(model, backend="aot_eager"))
    assert compiled == pytest.approx(eager, **VALUE_TOL)
    assert eager_grads.keys() == compiled_grads.keys() and eager_grads
    for name, grad in eager_grads.items():
        torch.testing.assert_close(compiled_grads[name], grad, **GRAD_TOL, msg=name)
