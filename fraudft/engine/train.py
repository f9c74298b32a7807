"""LoRA fine-tuning on HF Trainer, with the reference's arguments as defaults (REFERENCE §4).

    fraudft train --model tiny --train train.jsonl --eval eval.jsonl --out runs/r8 --max-steps 60

The loss is computed from the LM head at label positions only (fraudft.modeling.loss) unless
`loss="full"`. Throughput is measured over the optimizer steps actually run: evaluation, checkpoint
saving and the best-model reload are timed on their own and kept out of it. Every run records its
useful and computed tokens, padding fraction, label positions, analytic FLOPs
(fraudft.modeling.flops) and, on a known GPU, the MFU.

Batching: `padded` (random batches padded to their longest), `length_grouped` (transformers'
LengthGroupedSampler: batches of similar length, less padding) or `padding_free` (sequences
concatenated into one row with restarting position ids, transformers' DataCollatorWithFlattening;
SDPA/eager attend under a block-diagonal mask, flash-attention kernels per sequence).

`liger=True` swaps in Liger's fused RMSNorm, SwiGLU and RoPE kernels (not its fused linear
cross-entropy, which would compute the LM head at every position). Liger patches the model's
transformers module for RoPE, so it holds for the rest of the process: one run per process.

Resumable runs (`save_steps > 0`) save full checkpoints (adapter, optimizer, scheduler, RNG and
step, hence the data position) every `save_steps`; `resume=True` continues from the last complete
one in output_dir (HF Trainer's resume_from_checkpoint restores them), so a killed run, run again,
ends with the same weights. Each checkpoint also holds the run's settings and counts so far
(fraudft.engine.resume): a resumption whose settings or data differ stops with a UsageError, and its
TrainStats count the whole run (times: summed over the processes that ran it, each up to its
last checkpoint).

Data-parallel runs (torchrun): the counters of TrainStats are summed over the processes and the times
are the slowest process's, so tokens/s, samples/s, padding and FLOPs describe the whole run; MFU is
per device. Only global rank 0 should save or print (is_main_process).

A non-finite loss or gradient norm stops training before the optimizer takes that step:
TrainingDiverged, naming the step and both values, carrying the failed run's train_info (the
Trainer's own logging would show such a loss as 0.0, its logging_nan_inf_filter; the gradient norm
is reduced over all processes, so all of a data-parallel run's processes stop at the same step).

The loss is averaged over the label tokens of the whole accumulated batch (the Trainer's
num_items_in_batch), whatever the model class declares: a class that sets accepts_loss_kwargs=False
(Gemma-4's, Qwen2.5-VL's conditional-generation classes) would otherwise average each micro-batch on
its own and weigh its tokens by the number of tokens beside them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import json
import os
from pathlib import Path

import torch
from transformers import (
    DataCollatorWithFlattening,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.integrations.liger import apply_liger_kernel
from transformers.trainer_callback import PrinterCallback

from fraudft.core.errors import UsageError
from fraudft.engine.measure import (
    TrainStats,
    peak_memory,
    reduce_across_processes,
    synchronize,
    timed,
)
from fraudft.modeling.collate import Collator
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.modeling.flops import (
    BatchLayout,
    ModelShape,
    activation_bytes,
    mfu,
    step_flops,
)
from fraudft.modeling.hf_dataset import encode_dataset, records_dataset
from fraudft.modeling.lora import LoraSettings, adapted_modules, add_lora
from fraudft.modeling.loss import full_logit_loss, label_position_loss
from fraudft.modeling.taskformat import TaskFormat
from fraudft.modeling.truncation import truncation_summary
from fraudft.engine.resume import RunLedger, run_settings
from fraudft.engine.train_config import TrainConfig


# Attention implementations that keep flattened sequences apart (transformers' masking_utils builds a
# block-diagonal mask from restarting position ids; flash-attention kernels take them as varlen).
PADDING_FREE_ATTENTION = ("sdpa", "eager", "flex_attention", "flash_attention_2", "flash_attention_3")


class TrainingDiverged(RuntimeError):
    """A non-finite loss or gradient norm: training stopped before the optimizer step that would take
    it. `train_info` (filled in by train()) is the failed run's: status, error, the step and values,
    the steps completed and the log history so far."""

    def __init__(self, step: int, loss: float, grad_norm: float):
        super().__init__(f"training diverged at step {step}: loss {loss:.6g}, grad_norm {grad_norm:.6g}")
        self.step, self.loss, self.grad_norm = step, loss, grad_norm
        self.train_info: dict = {"status": "failed", "error": str(self),
                                 "diverged": {"step": step, "loss": loss, "grad_norm": grad_norm}}


class _Trainer(Trainer):
    """HF Trainer with the label-position loss, token counting, timed evaluation and a stop on
    divergence."""

    def __init__(self, *args, loss_mode: str, stats: TrainStats, count_flops, ledger: RunLedger, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_mode, self.stats, self.count_flops, self.ledger = loss_mode, stats, count_flops, ledger
        # What the model class declares (transformers' reading): whether its forward normalises its loss
        # by num_items_in_batch. fraudft's loss does so for every class (compute_loss), so the Trainer is
        # told it does: it then counts the label tokens of every accumulation step (get_batch_samples,
        # over all processes) and leaves the loss undivided by the number of micro-batches.
        self.model_normalises_loss = self.model_accepts_loss_kwargs
        self.model_accepts_loss_kwargs = True
        self._step_loss = None  # the sum of this optimizer step's micro-batch losses (a tensor)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.loss_mode == "full":
            if self.model_normalises_loss:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            loss = full_logit_loss(model, inputs, num_items_in_batch)
        else:
            loss = label_position_loss(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            # num_items_in_batch counts every process's labels and DDP averages the gradients:
            # scale back up, as Trainer.compute_loss does.
            loss = loss * self.accelerator.num_processes
        return (loss, {"loss": loss}) if return_outputs else loss

    def training_step(self, model, inputs, num_items_in_batch=None):
        layout = BatchLayout.of(inputs)
        self.stats.train_samples += len(layout.lengths)  # a padding-free batch is one row of several samples
        self.stats.train_tokens += layout.tokens
        self.stats.computed_tokens += layout.rows
        self.stats.label_positions += layout.label_positions
        flops = self.count_flops(layout)
        self.stats.model_flops += flops["model"]
        self.stats.executed_flops += flops["executed"]
        loss = super().training_step(model, inputs, num_items_in_batch)
        self._step_loss = loss if self._step_loss is None else self._step_loss + loss  # on device: no sync here
        return loss

    def _get_grad_norm(self, model, grad_norm=None):
        """The Trainer's gradient norm of each optimizer step (computed before it steps), checked with the
        step's loss: TrainingDiverged when either is not finite."""
        grad_norm = super()._get_grad_norm(model, grad_norm)
        step_loss, self._step_loss = self._step_loss, None
        values = torch.stack([torch.as_tensor(v, dtype=torch.float32).detach().cpu()
                              for v in (step_loss, grad_norm) if v is not None])  # one device sync per step
        if not bool(torch.isfinite(values).all()):
            loss, norm = (float("nan") if v is None else float(torch.as_tensor(v, dtype=torch.float32))
                          for v in (step_loss, grad_norm))
            raise TrainingDiverged(self.state.global_step + 1, loss, norm)
        return grad_norm

    def _save_checkpoint(self, model, trial):
        with timed(self.stats, "save_seconds"):
            # before the Trainer's files: a checkpoint with trainer_state.json (written last) has it
            folder = os.path.join(self._get_output_dir(trial), f"checkpoint-{self.state.global_step}")
            self.ledger.save(folder, self.stats, main_process=self.args.should_save)
            return super()._save_checkpoint(model, trial)

    def _load_best_model(self, *args, **kwargs):
        with timed(self.stats, "save_seconds"):
            return super()._load_best_model(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        with timed(self.stats, "eval_seconds"):
            metrics = super().evaluate(*args, **kwargs)
        self.stats.evaluations += 1
        return metrics



def _attention(model) -> str:
    return str(getattr(model.config, "_attn_implementation", None))


def _check_device_options(model, config: TrainConfig) -> None:
    """Options the device or the model's attention cannot honour stop here, in one line."""
    if config.compile and not torch.cuda.is_available():
        raise UsageError("compile: torch.compile is only supported on CUDA here; drop --compile on CPU")
    if config.liger:
        check_liger(model)
    if config.batching == "padding_free" and _attention(model) not in PADDING_FREE_ATTENTION:
        raise UsageError(
            f"batching: padding_free needs an attention implementation that separates flattened sequences "
            f"({', '.join(PADDING_FREE_ATTENTION)}); the model uses {_attention(model)!r}"
        )


def check_liger(model) -> None:
    """Liger needs its package, a model type it has kernels for, and CUDA (or Triton's CPU
    interpreter, TRITON_INTERPRET=1, which runs its kernels slowly: for tests)."""
    if not (torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1"):
        raise UsageError("liger: Liger's Triton kernels need a CUDA device; drop --liger on CPU")
    try:
        from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN
    except ImportError as error:
        raise UsageError(f"liger: liger-kernel is not installed ({error}); pip install 'fraudft[liger]'") from None
    model_type = getattr(model.config, "model_type", None)
    if model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        raise UsageError(f"liger: Liger has no kernels for model type {model_type!r}")


# RMSNorm, SwiGLU and RoPE only: Liger's (fused linear) cross-entropy would compute every position.
LIGER_KERNELS = {"rope": True, "rms_norm": True, "swiglu": True, "cross_entropy": False,
                 "fused_linear_cross_entropy": False}


def _available_memory() -> int:
    """Free bytes on the training device: CUDA free memory, else the system's available RAM."""
    if torch.cuda.is_available():
        return torch.cuda.mem_get_info()[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def checkpointing_decision(model, config: TrainConfig, lengths: list[int]) -> tuple[bool, str]:
    """Whether to checkpoint activations, and why: as configured, or (auto) on only when the
    estimated activations of the largest micro-batch exceed 80% of the device's free memory."""
    if config.gradient_checkpointing != "auto":
        return config.gradient_checkpointing, "set in the configuration"
    longest = sorted(lengths, reverse=True)[: config.batch_size]
    tokens = sum(longest) if config.batching == "padding_free" else len(longest) * longest[0]
    logit_rows = tokens if config.loss == "full" else 0
    need = activation_bytes(ModelShape.of(model), tokens, logit_rows, next(model.parameters()).element_size())
    free = _available_memory()
    on = need > 0.8 * free
    return on, (f"auto: estimated activations {need / 2**30:.2f} GiB for {tokens} tokens per micro-batch "
                f"{'exceed' if on else 'fit in'} 80% of {free / 2**30:.1f} GiB free")


LOSS_POINTS = 25  # training-loss values logged per run (the report's loss plot), when max_steps fixes the run


def logging_steps(config: TrainConfig) -> int:
    """How often the Trainer logs the loss: about LOSS_POINTS times in a run of max_steps, at least
    twice per eval interval. Logging reads the loss, gradient norm and learning rate the step computed
    anyway: it changes no weight (tests/engine/test_train.py)."""
    every = max(1, config.eval_steps // 2)
    return max(1, min(every, config.max_steps // LOSS_POINTS)) if config.max_steps > 0 else every


def training_arguments(config: TrainConfig, output_dir: str) -> TrainingArguments:
    """The TrainingArguments of a config: fraudft's fields mapped, then config.training_args as given."""
    return TrainingArguments(**{**training_argument_kwargs(config), **config.training_args, "output_dir": output_dir})


def training_argument_kwargs(config: TrainConfig) -> dict:
    """The TrainingArguments keyword arguments fraudft derives from its own fields."""
    return dict(
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup,
        lr_scheduler_type=config.lr_scheduler,
        eval_strategy="steps",
        eval_steps=config.eval_steps,
        save_strategy="steps" if config.load_best_model_at_end or config.save_steps else "no",
        save_steps=config.save_steps or config.eval_steps,
        save_total_limit=2 if config.load_best_model_at_end or config.save_steps else None,
        save_only_model=not config.save_steps,  # resumable: optimizer, scheduler and RNG too
        load_best_model_at_end=config.load_best_model_at_end,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        gradient_checkpointing=config.gradient_checkpointing is True,
        gradient_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing is True else None,
        train_sampling_strategy="group_by_length" if config.batching == "length_grouped" else "random",
        torch_compile=config.compile,
        logging_steps=logging_steps(config),
        prediction_loss_only=True,
        remove_unused_columns=False,
        report_to="none",
        seed=config.seed,
        data_seed=config.seed,
        disable_tqdm=not config.progress,
        use_cpu=not torch.cuda.is_available(),
    )


def last_checkpoint(output_dir: str) -> str | None:
    """The newest complete checkpoint-N folder (the Trainer writes trainer_state.json last; a run
    killed while saving leaves a partial folder, skipped here), or None."""
    folders = [p for p in Path(output_dir).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    for folder in sorted(folders, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        try:
            json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return str(folder)
    return None


def _load_finished(trainer, checkpoint: str, config: TrainConfig) -> None:
    """A run whose last checkpoint is its final step, run again with --resume: its weights and state,
    no step more. (HF Trainer resumed at max_steps would run one more step: it checks max_steps after
    a step, so each rerun of a finished command would move the adapter.) Its best model, where
    load_best_model_at_end chose one, as training would have ended with it."""
    from transformers import TrainerState

    trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))
    best = trainer.state.best_model_checkpoint if config.load_best_model_at_end else None
    trainer._load_from_checkpoint(best if best and Path(best).is_dir() else checkpoint)


def train(model, tokenizer, train_records: list[dict], eval_records: list[dict],
          lora: LoraSettings, config: TrainConfig, output_dir: str, identity: dict | None = None,
          task_format: TaskFormat = TaskFormat(), on_resume=None):
    """Fine-tune LoRA adapters on `model`; return (peft model, TrainStats).

    `task_format` is the prompt and answer trained (fraudft.modeling.taskformat): DataError when a
    record lacks a field its answer trains, DataWarning when instructions ask for fields it does not.
    `identity` names the model and tokenizer for resuming (default: their name_or_path): a resumed
    run must match the checkpoint's (UsageError otherwise, see fraudft.engine.resume); the format is part of it.
    `on_resume(checkpoint folder)` is called once that check has passed, before training goes on from it."""
    if not train_records or not eval_records:
        raise ValueError("train, eval: expected at least one record in each")
    task_format.check_records(train_records, "train")
    task_format.check_records(eval_records, "eval")
    encode_config = EncodeConfig(max_length=config.max_length, format=task_format)
    datasets_ = {"train": records_dataset(train_records), "eval": records_dataset(eval_records)}
    identity = {**(identity or {"model": model.config.name_or_path, "tokenizer": tokenizer.name_or_path}),
                "format": task_format.to_dict()}
    # WORLD_SIZE: torchrun's, set before the process group exists
    ledger = RunLedger(run_settings(config, lora, identity, {split: d._fingerprint for split, d in datasets_.items()},
                                    processes=int(os.environ.get("WORLD_SIZE", "1"))))
    checkpoint = last_checkpoint(output_dir) if config.resume else None
    if checkpoint is not None:
        ledger.resume_from(checkpoint)  # before any work: another run's checkpoint stops here
        if on_resume is not None:
            on_resume(checkpoint)
    # datasets.Dataset with input_ids/attention_mask/labels, read back from the cache on a rerun
    train_set, eval_set = (encode_dataset(dataset, tokenizer, encode_config) for dataset in datasets_.values())
    _check_device_options(model, config)
    checkpointing, why = checkpointing_decision(model, config, [len(ids) for ids in train_set["input_ids"]])
    config = dataclasses.replace(config, gradient_checkpointing=checkpointing)
    encoder = Encoder(tokenizer, encode_config)
    stats = TrainStats(batching=config.batching, gradient_checkpointing={"enabled": checkpointing, "why": why},
                       truncation={"max_length": config.max_length,
                                   "train": truncation_summary(train_records, train_set, encoder),
                                   "eval": truncation_summary(eval_records, eval_set, encoder)},
                       resumed_from_step=int(Path(checkpoint).name.split("-")[-1]) if checkpoint else None)
    shape = ModelShape.of(model)
    set_seed(config.seed)  # the LoRA init too: every seed of an arm starts from its own adapter weights
    model = add_lora(model, lora)
    stats.adapted_modules = adapted_modules(model)  # what peft put LoRA on, not the names asked for
    count_flops = functools.partial(
        step_flops, shape, lora_r=lora.r, lora_targets=stats.adapted_modules, loss=config.loss,
        checkpointing=checkpointing, varlen_attention=_attention(model).startswith("flash_attention"),
    )
    if config.liger:
        apply_liger_kernel(model, LIGER_KERNELS)  # transformers' integration: unwraps peft, patches in place
        stats.notes.append(f"liger: {', '.join(k for k, on in LIGER_KERNELS.items() if on)} kernels "
                           f"(liger-kernel {importlib.metadata.version('liger-kernel')})")
    if checkpointing:
        model.enable_input_require_grads()
    callbacks = []
    if config.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    trainer = _Trainer(
        model=model,
        args=training_arguments(config, output_dir),
        train_dataset=train_set,
        eval_dataset=eval_set,
        # Left padding lines the answers up at the end, where the label-position loss wants them.
        data_collator=Collator(tokenizer, side="right" if config.loss == "full" else "left"),
        callbacks=callbacks,
        loss_mode=config.loss,
        stats=stats,
        count_flops=count_flops,
        ledger=ledger,
    )
    if not config.progress:  # quiet: HF prints its log dicts where it shows no progress bar; neither
        trainer.remove_callback(PrinterCallback)
    if config.batching == "padding_free":
        trainer.data_collator = DataCollatorWithFlattening()
        if not _attention(model).startswith("flash_attention"):
            stats.notes.append(f"padding_free with {_attention(model)} attention: each packed row is attended "
                               "as a whole under a block-diagonal mask (flash-attention kernels skip the masked blocks)")
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    synchronize()
    ledger.restart_clock()
    if checkpoint is not None and 0 < config.max_steps <= stats.resumed_from_step:
        _load_finished(trainer, checkpoint, config)
    else:
        try:
            trainer.train(resume_from_checkpoint=checkpoint)
        except TrainingDiverged as err:
            err.train_info.update(steps=trainer.state.global_step, log_history=trainer.state.log_history,
                                  adapted_modules=stats.adapted_modules, notes=stats.notes)
            raise
    synchronize()
    stats.train_seconds = ledger.train_seconds(stats)
    stats.steps = trainer.state.global_step
    reduce_across_processes(stats)
    ledger.add_earlier(stats)  # a resumed run: the counts and times of the processes before this one
    stats.padding_fraction = 1 - stats.train_tokens / stats.computed_tokens if stats.computed_tokens else 0.0
    stats.flops_per_step = stats.model_flops / max(1, stats.steps)
    stats.mfu = mfu(stats.model_flops, stats.train_seconds,
                    torch.cuda.get_device_name() if torch.cuda.is_available() else None, devices=stats.world_size)
    stats.stopped_early = stats.steps < trainer.state.max_steps  # max_steps: the planned steps
    stats.tokens_per_s = stats.train_tokens / stats.train_seconds
    stats.samples_per_s = stats.train_samples / stats.train_seconds
    stats.peak_memory = peak_memory()
    stats.best_eval_loss = trainer.state.best_metric
    stats.log_history = trainer.state.log_history
    return trainer.model, stats
