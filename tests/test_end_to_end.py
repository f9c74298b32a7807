"""End to end on CPU: the tiny model fine-tuned on synthetic data learns the task; trained on
positives only it collapses to "always fraud"; label scoring agrees with free generation."""

import pytest

from fraudft.engine.evaluate import EvalConfig, evaluate
from fraudft.modeling.lora import LoraSettings
from fraudft.modeling.models import load_model
from fraudft.synthetic import SynthConfig, generate
from fraudft.engine.train import train
from fraudft.engine.train_config import TrainConfig

MAX_LENGTH = 192
FAST = dict(batch_size=16, grad_accum=1, learning_rate=3e-3, early_stopping_patience=None,
            load_best_model_at_end=False, gradient_checkpointing=False, max_length=MAX_LENGTH, progress=False)


@pytest.fixture(scope="module")
def splits():
    return generate(SynthConfig(n=1200, seed=11)), generate(SynthConfig(n=64, seed=12)), generate(SynthConfig(n=300, seed=13))


@pytest.fixture(scope="module")
def fine_tuned(tokenizer, splits, tmp_path_factory):
    train_records, eval_records, _ = splits
    model, stats = train(load_model("tiny"), tokenizer, train_records, eval_records, LoraSettings(),
                         TrainConfig(max_steps=240, eval_steps=120, **FAST), tmp_path_factory.mktemp("run"))
    return model, stats


def test_fine_tuned_tiny_model_is_far_above_chance(tokenizer, splits, fine_tuned):
    model, stats = fine_tuned
    untuned = evaluate(load_model("tiny"), tokenizer, splits[2], EvalConfig(max_length=MAX_LENGTH, progress=False))
    tuned = evaluate(model, tokenizer, splits[2], EvalConfig(max_length=MAX_LENGTH, progress=False))
    assert stats.steps == 240
    assert tuned["metrics"]["precision"] > 0.7 and tuned["metrics"]["recall"] > 0.7, tuned["metrics"]
    assert tuned["metrics"]["f1"] > untuned["metrics"]["f1"] + 0.15


def test_positive_only_training_collapses_to_always_fraud(tokenizer, splits, tmp_path):
    train_records, eval_records, test_records = splits
    positives = [r for r in train_records if r["label"]]
    model, _ = train(load_model("tiny"), tokenizer, positives, eval_records, LoraSettings(),
                     TrainConfig(max_steps=40, eval_steps=40, **FAST), tmp_path)
    metrics = evaluate(model, tokenizer, test_records, EvalConfig(max_length=MAX_LENGTH, progress=False))["metrics"]
    assert metrics["recall"] == 1.0 and metrics["tn"] == 0, metrics


def test_score_and_generate_agree_on_valid_replies(tokenizer, splits, fine_tuned):
    model, _ = fine_tuned
    records = splits[2][:120]
    scored = evaluate(model, tokenizer, records, EvalConfig(max_length=MAX_LENGTH, progress=False))
    generated = evaluate(model, tokenizer, records, EvalConfig(mode="generate", max_length=MAX_LENGTH,
                                                               max_new_tokens=12, progress=False))
    valid = [i for i, p in enumerate(generated["predictions"]) if p is not None]
    assert len(valid) >= 0.9 * len(records), generated["replies"][:5]
    agree = sum(scored["predictions"][i] == generated["predictions"][i] for i in valid)
    assert agree >= 0.99 * len(valid)
