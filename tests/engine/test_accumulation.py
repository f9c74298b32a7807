"""Gradient accumulation: one optimizer step over 8 records is the same update whether they come
as 8x1, 4x2 or 1x8 micro-batches, also for a model class that declares accepts_loss_kwargs=False
(transformers then passes no num_items_in_batch and each micro-batch would be averaged on its own:
before fraudft counted the label tokens itself, 1x8 moved the adapter 11% away from 8x1)."""

from __future__ import annotations

import warnings

import pytest
import torch
from transformers import Qwen2ForCausalLM

from fraudft.engine.train import train
from fraudft.engine.train_config import TrainConfig
from fraudft.modeling.lora import LoraSettings
from fraudft.modeling.models import load_model
from fraudft.modeling.taskformat import TaskFormat
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Answers of different lengths, so that micro-batches hold different numbers of label tokens.
FORMAT = TaskFormat(answer="is_fraud_speaker_reason")


class DecliningQwen2ForCausalLM(Qwen2ForCausalLM):
    """A causal LM whose class declines loss kwargs, as Gemma-4's and Qwen2.5-VL's conditional-generation classes do."""

    accepts_loss_kwargs = False


@pytest.fixture(scope="module")
def records():
    return [{**r, "fraud_speaker": "张三", "reason": "理由" * (1 + 3 * i)}
            for i, r in enumerate(generate(SynthConfig(n=8, seed=3)))]


def _model(declining: bool):
    base = load_model("tiny", device="cpu")
    if not declining:
        return base
    model = DecliningQwen2ForCausalLM(base.config)
    model.load_state_dict(base.state_dict())
    return model


def _update(tokenizer, records, tmp_path, declining: bool, batch_size: int, grad_accum: int, loss: str):
    """The LoRA B matrices after one plain SGD step at learning rate 1 (they start at zero: -gradient)."""
    config = TrainConfig(batch_size=batch_size, grad_accum=grad_accum, max_steps=1, learning_rate=1.0, eval_steps=1,
                         early_stopping_patience=None, load_best_model_at_end=False, gradient_checkpointing=False,
                         max_length=256, batching="padded", loss=loss, progress=False,
                         ).with_options({"optim": "sgd", "max_grad_norm": 0.0})  # no Adam or clipping to hide a scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, stats = train(_model(declining), tokenizer, records, records[:2], LoraSettings(lora_dropout=0.0), config,
                             str(tmp_path / f"{batch_size}x{grad_accum}"), task_format=FORMAT)
    assert stats.steps == 1 and stats.train_samples == 8
    return torch.cat([p.detach().flatten() for name, p in model.named_parameters() if "lora_B" in name])


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("loss, shapes", [("label_positions", ((4, 2), (1, 8))), ("full", ((1, 8),))])
def test_a_class_declining_loss_kwargs_gets_the_update_of_the_whole_accumulated_batch(
        tokenizer, records, tmp_path, loss, shapes):
    assert DecliningQwen2ForCausalLM.accepts_loss_kwargs is False
    whole = _update(tokenizer, records, tmp_path, True, 8, 1, loss)
    assert whole.abs().max() > 0
    for batch_size, grad_accum in shapes:
        assert _relative(_update(tokenizer, records, tmp_path, True, batch_size, grad_accum, loss), whole) < 1e-5


def test_qwen2_accumulates_as_before(tokenizer, records, tmp_path):
    # Qwen2 takes loss kwargs: the Trainer's own num_items_in_batch, the same update, and the same as the declining class
    whole = _update(tokenizer, records, tmp_path, False, 8, 1, "label_positions")
    assert _relative(_update(tokenizer, records, tmp_path, False, 1, 8, "label_positions"), whole) < 1e-5
    assert torch.equal(_update(tokenizer, records, tmp_path, True, 8, 1, "label_positions"), whole)
