"""fraudft.engine.train: configuration checks and short real runs of the tiny model on CPU."""

from __future__ import annotations

import dataclasses
import math
import warnings

import pytest
import torch

from fraudft.core.errors import UsageError
from fraudft.engine.measure import TrainStats, peak_memory
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.modeling.lora import LoraSettings
from fraudft.modeling.loss import LossFallbackWarning, label_position_loss
from fraudft.modeling.models import load_model
from fraudft.synthetic import SynthConfig, generate
from fraudft.engine.train_config import TrainConfig
from fraudft.engine.train import (
    TrainingDiverged,
    checkpointing_decision,
    train,
    training_arguments,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MAX_LENGTH = 128
RUN = dict(max_steps=4, batch_size=2, grad_accum=2, eval_steps=2, early_stopping_patience=None,
           max_length=MAX_LENGTH, progress=False, learning_rate=3e-3)


@pytest.fixture(scope="module")
def records():
    return generate(SynthConfig(n=16, seed=0))


@pytest.fixture(scope="module")
def run(tokenizer, records, tmp_path_factory):
    config = TrainConfig(**RUN)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossFallbackWarning)  # left-padded batches: no fallback to full logits
        model, stats = train(load_model("tiny", device="cpu"), tokenizer, records, records, LoraSettings(), config,
                             output_dir=str(tmp_path_factory.mktemp("run")))
    return model, stats, config


# --- TrainConfig -----------------------------------------------------------------------------------


def test_train_config_defaults_are_the_reference():
    c = TrainConfig()
    assert (c.batch_size, c.grad_accum, c.epochs, c.learning_rate) == (4, 4, 3.0, 1e-4)
    assert (c.eval_steps, c.early_stopping_patience, c.load_best_model_at_end, c.gradient_checkpointing) == (10, 3, True, "auto")
    assert c.loss == "label_positions" and c.batching == "padding_free"  # not the reference's: same batches, no pads


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=2.0), "batch_size"),
        (dict(grad_accum=0), "grad_accum"),
        (dict(eval_steps=0), "eval_steps"),
        (dict(max_length=0), "max_length"),
        (dict(max_length="128"), "max_length"),
        (dict(epochs=0), "epochs"),
        (dict(epochs=-1.0), "epochs"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(learning_rate=-1e-4), "learning_rate"),
        (dict(weight_decay=-0.01), "weight_decay"),
        (dict(warmup=-1), "warmup"),
        (dict(early_stopping_patience=0), "early_stopping_patience"),
        (dict(loss="mean"), "loss"),
    ],
)
def test_train_config_rejects_bad_values(kwargs, field):
    # The message names the field (weight_decay and warmup share one message).
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        TrainConfig(**kwargs)


def test_max_steps_overrides_epochs():
    assert TrainConfig(epochs=0, max_steps=5).max_steps == 5  # a step budget needs no epochs
    assert TrainConfig(early_stopping_patience=None).early_stopping_patience is None


def test_training_arguments_follow_the_config(tmp_path):
    config = TrainConfig(batch_size=3, grad_accum=5, max_steps=7, learning_rate=2e-4, warmup=0.1,
                         eval_steps=4, gradient_checkpointing=False, load_best_model_at_end=False, progress=False)
    args = training_arguments(config, str(tmp_path))
    assert args.per_device_train_batch_size == 3 and args.per_device_eval_batch_size == 3
    assert args.gradient_accumulation_steps == 5 and args.max_steps == 7 and args.learning_rate == 2e-4
    assert args.eval_steps == 4 and args.load_best_model_at_end is False and args.gradient_checkpointing is False
    assert args.metric_for_best_model == "eval_loss" and args.greater_is_better is False
    assert args.disable_tqdm is True and args.report_to in ([], "none", ["none"])


def test_train_needs_records(tokenizer, records, tmp_path):
    with pytest.raises(ValueError, match="at least one record"):
        train(load_model("tiny", device="cpu"), tokenizer, [], records, LoraSettings(), TrainConfig(**RUN), str(tmp_path))
    with pytest.raises(ValueError, match="at least one record"):
        train(load_model("tiny", device="cpu"), tokenizer, records, [], LoraSettings(), TrainConfig(**RUN), str(tmp_path))


# --- a short real run --------------------------------------------------------------------------


def test_run_counts_the_steps_and_samples_actually_run(run):
    _, stats, config = run
    assert isinstance(stats, TrainStats)
    assert stats.steps == config.max_steps == 4
    assert stats.train_samples == stats.steps * config.batch_size * config.grad_accum == 16
    assert stats.stopped_early is False


def test_run_counts_the_tokens_fed(run, tokenizer, records):
    _, stats, config = run
    # 4 steps x 2 x 2 = 16 samples: one epoch over the 16 records, each seen exactly once, so the
    # attention masks fed add up to the encoded lengths (right padding adds only zeros).
    encoded = Encoder(tokenizer, EncodeConfig(max_length=MAX_LENGTH)).encode_all(records)
    assert stats.train_tokens == sum(len(e["input_ids"]) for e in encoded)
    assert 0 < stats.train_tokens <= stats.train_samples * config.max_length


def test_run_measures_throughput_over_the_run_itself(run):
    _, stats, _ = run
    assert stats.train_seconds > 0
    assert stats.tokens_per_s == pytest.approx(stats.train_tokens / stats.train_seconds)
    assert stats.samples_per_s == pytest.approx(stats.train_samples / stats.train_seconds)
    assert stats.eval_seconds > 0
    assert stats.evaluations == 2  # at steps 2 and 4


def test_run_reports_peak_memory(run):
    _, stats, _ = run
    if torch.cuda.is_available():
        assert stats.peak_memory["device"] == "cuda"
    else:
        assert stats.peak_memory["device"] == "cpu"
        assert stats.peak_memory["peak_rss_bytes"] > 0
        assert peak_memory()["peak_rss_bytes"] >= stats.peak_memory["peak_rss_bytes"]


def test_run_keeps_the_log_history(run):
    _, stats, _ = run
    evals = [entry for entry in stats.log_history if "eval_loss" in entry]
    assert [entry["step"] for entry in evals] == [2, 4]
    assert stats.best_eval_loss == min(entry["eval_loss"] for entry in evals)
    assert any("loss" in entry for entry in stats.log_history)
    d = stats.to_dict()
    assert d["steps"] == 4 and d["log_history"] == stats.log_history


def test_run_returns_a_peft_model_with_trained_adapters(run):
    model, _, _ = run
    assert hasattr(model, "peft_config") and hasattr(model, "get_base_model")
    lora_b = {n: p for n, p in model.named_parameters() if ".lora_B." in n}
    assert lora_b
    # lora_B starts at zero: a trained adapter has moved it.
    assert all(p.abs().sum() > 0 for p in lora_b.values())


def test_run_leaves_the_base_weights_alone(run):
    model, _, _ = run
    fresh = load_model("tiny", device="cpu")
    trained_base = model.get_base_model()
    torch.testing.assert_close(trained_base.get_input_embeddings().weight.cpu(),
                               fresh.get_input_embeddings().weight, rtol=0, atol=0)
    torch.testing.assert_close(trained_base.model.layers[0].self_attn.q_proj.base_layer.weight.cpu(),
                               fresh.model.layers[0].self_attn.q_proj.weight, rtol=0, atol=0)


def test_full_logit_loss_also_trains(tokenizer, records, tmp_path):
    config = TrainConfig(**{**RUN, "max_steps": 2, "grad_accum": 1, "eval_steps": 2,
                            "load_best_model_at_end": False, "gradient_checkpointing": False, "loss": "full"})
    model, stats = train(load_model("tiny", device="cpu"), tokenizer, records[:8], records[:4], LoraSettings(),
                         config, output_dir=str(tmp_path))
    assert stats.steps == 2 and stats.train_samples == 4 and stats.evaluations == 1
    assert all(p.abs().sum() > 0 for n, p in model.named_parameters() if ".lora_B." in n)
    assert all(entry["loss"] > 0 for entry in stats.log_history if "loss" in entry)


def test_a_run_whose_loss_turns_nan_stops_at_that_step(tokenizer, records, tmp_path):
    config = TrainConfig(**{**RUN, "max_steps": 4, "grad_accum": 2, "learning_rate": 1e30, "eval_steps": 2,
                            "gradient_checkpointing": False, "load_best_model_at_end": False})
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 2: loss nan, grad_norm nan$") as caught:
        train(load_model("tiny", device="cpu"), tokenizer, records[:8], records[:4], LoraSettings(), config,
              output_dir=str(tmp_path))
    info = caught.value.train_info
    assert info["status"] == "failed" and info["error"] == str(caught.value) and info["steps"] == 1
    assert info["diverged"]["step"] == 2 and math.isnan(info["diverged"]["loss"])
    # the logged steps are the finite ones: no NaN loss shown as the Trainer's filtered 0.0
    logged = [entry for entry in info["log_history"] if "loss" in entry]
    assert [entry["step"] for entry in logged] == [1] and logged[0]["loss"] > 1


def test_a_run_whose_gradient_is_not_finite_stops_before_the_optimizer_takes_it(tokenizer, records, tmp_path):
    base = load_model("tiny", device="cpu")
    # the loss stays finite; every gradient through the first MLP becomes inf or NaN
    base.model.layers[0].mlp.register_full_backward_hook(lambda module, grad_in, grad_out: tuple(
        None if g is None else g * math.inf for g in grad_in))
    config = TrainConfig(**{**RUN, "max_steps": 2, "grad_accum": 1, "eval_steps": 2,
                            "gradient_checkpointing": False, "load_best_model_at_end": False})
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 1: loss \d+\.\d+, grad_norm (nan|inf)$") as caught:
        train(base, tokenizer, records[:8], records[:4], LoraSettings(), config, output_dir=str(tmp_path))
    assert caught.value.train_info["steps"] == 0 and math.isfinite(caught.value.loss)


def test_early_stopping_stops_a_run_whose_eval_loss_does_not_improve(tokenizer, records, tmp_path):
    # The smallest allowed steps keep the LoRA update ~1e-12, far below fp32 resolution of the
    # base outputs: every evaluation gives the same loss, so patience 1 stops at the 2nd one.
    config = TrainConfig(**{**RUN, "max_steps": 10, "grad_accum": 1, "eval_steps": 1, "learning_rate": 1e-12,
                            "early_stopping_patience": 1, "gradient_checkpointing": False})
    _, stats = train(load_model("tiny", device="cpu"), tokenizer, records[:8], records[:4], LoraSettings(),
                     config, output_dir=str(tmp_path))
    assert stats.stopped_early is True
    assert 2 <= stats.steps < config.max_steps  # 2 where the update is exactly invisible
    assert stats.evaluations == stats.steps
    assert stats.train_samples == stats.steps * config.batch_size


def test_train_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().batch_size = 8


def test_a_checkpoint_folder_trains_in_bf16_on_cpu(tiny_checkpoint, records, tmp_path):
    from fraudft.modeling.tokenizer import load_tokenizer

    config = TrainConfig(**{**RUN, "max_steps": 2, "grad_accum": 1, "eval_steps": 2, "load_best_model_at_end": False})
    model = load_model(str(tiny_checkpoint), device="cpu", dtype=torch.bfloat16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossFallbackWarning)
        model, stats = train(model, load_tokenizer(str(tiny_checkpoint)), records[:4], records[:2], LoraSettings(),
                             config, output_dir=str(tmp_path))
    assert stats.steps == 2 and stats.evaluations == 1
    assert model.get_base_model().dtype == torch.bfloat16
    losses = [entry["loss"] for entry in stats.log_history if "loss" in entry]
    assert losses and all(math.isfinite(loss) and loss > 0 for loss in losses)
    assert all(p.abs().sum() > 0 for n, p in model.named_parameters() if ".lora_B." in n)


# --- accounting, batching, checkpointing (issue 11) ---------------------------------------------


def test_run_accounts_tokens_flops_and_saving_apart(run, tokenizer):
    _, stats, _ = run
    assert stats.save_seconds > 0  # best-model checkpoints were saved and reloaded, timed apart
    assert stats.computed_tokens >= stats.train_tokens
    assert stats.padding_fraction == pytest.approx(1 - stats.train_tokens / stats.computed_tokens)
    answer = len(Encoder(tokenizer).target_ids[True])
    assert stats.label_positions == stats.train_samples * answer  # the answer and its terminator
    assert 0 < stats.model_flops <= stats.executed_flops
    assert stats.flops_per_step == pytest.approx(stats.model_flops / stats.steps)
    if not torch.cuda.is_available():
        assert stats.mfu["mfu"] is None and stats.mfu["reason"]
    assert stats.gradient_checkpointing["enabled"] is False  # auto: the tiny model fits
    assert stats.gradient_checkpointing["why"].startswith("auto:")
    assert stats.batching == "padding_free" and stats.padding_fraction == 0  # the default


def _short(tokenizer, records, tmp_path, **overrides):
    config = TrainConfig(**{**RUN, "max_steps": 2, "batch_size": 4, "grad_accum": 1, "eval_steps": 2,
                            "load_best_model_at_end": False, **overrides})
    return train(load_model("tiny", device="cpu"), tokenizer, records, records[:4], LoraSettings(), config,
                 output_dir=str(tmp_path))[1]


def test_batching_variants_cut_padding(tokenizer, tmp_path):
    # 64 untruncated records: LengthGroupedSampler sorts mega-batches of 4 x 4 examples (fewer: none)
    records = generate(SynthConfig(n=64, seed=3))
    by = {b: _short(tokenizer, records, tmp_path / b, batching=b, max_steps=16, eval_steps=16, max_length=512)
          for b in ("padded", "length_grouped", "padding_free")}
    assert by["padding_free"].padding_fraction == 0
    assert by["padding_free"].notes  # block-mask attention is said, not silent
    assert by["length_grouped"].padding_fraction < by["padded"].padding_fraction
    # one epoch each: the same records, so the same real tokens and label positions
    assert len({s.train_tokens for s in by.values()}) == 1
    assert len({s.label_positions for s in by.values()}) == 1


def test_padding_free_batch_gives_the_padded_loss(tokenizer, records):
    from transformers import DataCollatorWithFlattening

    from fraudft.modeling.collate import Collator
    from fraudft.modeling.lora import add_lora

    model = add_lora(load_model("tiny", device="cpu"), LoraSettings(dropout=0.0))
    encoded = Encoder(tokenizer, EncodeConfig(max_length=MAX_LENGTH)).encode_all(records[:3])
    with torch.no_grad():
        padded = label_position_loss(model, Collator(tokenizer, side="right")(encoded))
        flat = label_position_loss(model, DataCollatorWithFlattening()(encoded))
    assert flat.item() == pytest.approx(padded.item(), rel=1e-4)


def test_options_the_device_cannot_honour_stop_with_a_usage_error(tokenizer, records, tmp_path):
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="compile"):
            _short(tokenizer, records, tmp_path, compile=True)
    model = load_model("tiny", device="cpu")
    model.config._attn_implementation = "some_kernel"
    with pytest.raises(UsageError, match="padding_free"):
        train(model, tokenizer, records, records, LoraSettings(), TrainConfig(**RUN, batching="padding_free"),
              output_dir=str(tmp_path))


def test_auto_checkpointing_turns_on_when_activations_would_not_fit(monkeypatch):
    model = load_model("tiny", device="cpu")
    config = TrainConfig(batch_size=4)
    assert checkpointing_decision(model, config, [100, 50, 20])[0] is False
    monkeypatch.setattr("fraudft.engine.train._available_memory", lambda: 1000)
    on, why = checkpointing_decision(model, config, [100, 50, 20])
    assert on is True and "exceed" in why
    assert checkpointing_decision(model, TrainConfig(gradient_checkpointing=False), [100]) == (False, "set in the configuration")
    with pytest.raises(ValueError, match="batching"):
        TrainConfig(batching="sorted")


def test_logging_steps_give_the_loss_plot_points_and_change_no_weight(tokenizer, records, tmp_path):
    """fraudft logs about LOSS_POINTS losses in a fixed-step run (the report's loss plot); how often
    the Trainer logs changes no weight: the adapters of two runs logging every step and every 4th agree exactly."""
    from fraudft.engine.train import LOSS_POINTS, logging_steps

    assert logging_steps(TrainConfig(max_steps=200, eval_steps=200)) == 200 // LOSS_POINTS
    assert logging_steps(TrainConfig(max_steps=90, eval_steps=10)) == 90 // LOSS_POINTS
    assert logging_steps(TrainConfig(max_steps=-1, eval_steps=10)) == 5  # epochs: twice per eval interval
    assert logging_steps(TrainConfig(max_steps=4, eval_steps=10)) == 1  # a short run: every step
    adapters = []
    for every in (1, 4):
        config = TrainConfig.from_dict({**RUN, "logging_steps": every})
        model, stats = train(load_model("tiny", device="cpu"), tokenizer, records[:8], records[:4], LoraSettings(), config,
                             output_dir=str(tmp_path / f"every{every}"))
        assert sum("loss" in entry for entry in stats.log_history) == RUN["max_steps"] // every
        adapters.append({n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n})
    assert adapters[0].keys() == adapters[1].keys() and adapters[0]
    for name, value in adapters[0].items():
        torch.testing.assert_close(value, adapters[1][name], rtol=0, atol=0)
