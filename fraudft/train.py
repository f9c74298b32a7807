"""LoRA fine-tuning on HF Trainer, with the reference's arguments as defaults (REFERENCE §4).

    fraudft train --model tiny --train train.jsonl --eval eval.jsonl --out runs/r8 --max-steps 60

The loss is computed from the LM head at label positions only (fraudft.modeling.loss) unless
`loss="full"`. Throughput is measured over the optimizer steps actually run: evaluation time is
timed on its own and kept out of it.

Resumable runs (`save_steps > 0`) save full checkpoints (adapter, optimizer, scheduler, RNG and
step, hence the data position) every `save_steps`; `resume=True` continues from the last complete
one in output_dir (HF Trainer's resume_from_checkpoint restores them), so a killed run, run again,
ends with the same weights. Its TrainStats then measure the resumed part only.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

from fraudft.modeling.collate import Collator
from fraudft.modeling.encode import EncodeConfig
from fraudft.modeling.hf_dataset import encode_dataset, records_dataset
from fraudft.modeling.lora import LoraSettings, add_lora
from fraudft.modeling.loss import label_position_loss


@dataclass(frozen=True)
class TrainConfig:
    """Training arguments; the defaults are the reference's (article 3.3)."""

    batch_size: int = 4
    grad_accum: int = 4
    epochs: float = 3.0
    max_steps: int = -1  # > 0: a fixed step budget that overrides epochs
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    warmup: float = 0.0  # a ratio of the steps when < 1, else a number of steps
    lr_scheduler: str = "linear"
    eval_steps: int = 10
    early_stopping_patience: int | None = 3  # None: no early stopping
    load_best_model_at_end: bool = True
    gradient_checkpointing: bool = True
    loss: Literal["label_positions", "full"] = "label_positions"
    max_length: int = 2048
    seed: int = 0
    progress: bool = True
    save_steps: int = 0  # > 0: a full checkpoint every save_steps steps, to resume from
    resume: bool = False  # continue from the last complete checkpoint in output_dir, if there is one

    def __post_init__(self):
        for name in ("batch_size", "grad_accum", "eval_steps", "max_length"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name}: got {getattr(self, name)!r}, expected a positive integer")
        if self.max_steps < 1 and not self.epochs > 0:
            raise ValueError(f"epochs: got {self.epochs!r}, expected a positive number (or max_steps > 0)")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate: got {self.learning_rate!r}, expected a positive number")
        if self.weight_decay < 0 or self.warmup < 0:
            raise ValueError("weight_decay, warmup: expected non-negative numbers")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(f"early_stopping_patience: got {self.early_stopping_patience!r}, expected >= 1 or None")
        if self.loss not in ("label_positions", "full"):
            raise ValueError(f"loss: got {self.loss!r}, expected 'label_positions' or 'full'")
        if self.save_steps < 0 or (self.resume and self.save_steps == 0):
            raise ValueError(f"save_steps: got {self.save_steps!r}, expected >= 0 (> 0 with resume)")


@dataclass
class TrainStats:
    """What a run did, measured over the steps actually run."""

    steps: int = 0
    train_seconds: float = 0.0  # trainer.train() wall time minus evaluation
    eval_seconds: float = 0.0
    evaluations: int = 0
    train_samples: int = 0
    train_tokens: int = 0  # non-pad tokens fed to the model
    tokens_per_s: float = 0.0
    samples_per_s: float = 0.0
    peak_memory: dict = field(default_factory=dict)
    best_eval_loss: float | None = None
    stopped_early: bool = False
    log_history: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class _Trainer(Trainer):
    """HF Trainer with the label-position loss, token counting and timed evaluation."""

    def __init__(self, *args, loss_mode: str, stats: TrainStats, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_mode, self.stats = loss_mode, stats

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.loss_mode == "full":
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        loss = label_position_loss(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            # num_items_in_batch counts every process's labels and DDP averages the gradients:
            # scale back up, as Trainer.compute_loss does.
            loss = loss * self.accelerator.num_processes
        return (loss, {"loss": loss}) if return_outputs else loss

    def training_step(self, model, inputs, num_items_in_batch=None):
        self.stats.train_samples += int(inputs["input_ids"].shape[0])
        self.stats.train_tokens += int(inputs["attention_mask"].sum())
        return super().training_step(model, inputs, num_items_in_batch)

    def evaluate(self, *args, **kwargs):
        _synchronize()
        start = time.perf_counter()
        metrics = super().evaluate(*args, **kwargs)
        _synchronize()
        self.stats.eval_seconds += time.perf_counter() - start
        self.stats.evaluations += 1
        return metrics


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_memory() -> dict:
    """CUDA peak allocated and reserved bytes on GPU; the process's peak RSS on CPU."""
    if torch.cuda.is_available():
        return {
            "device": "cuda",
            "peak_allocated_bytes": torch.cuda.max_memory_allocated(),
            "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
        }
    # ru_maxrss is in KiB on Linux; it is the peak of the whole process so far.
    return {"device": "cpu", "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def training_arguments(config: TrainConfig, output_dir: str) -> TrainingArguments:
    return TrainingArguments(
        output_dir=output_dir,
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
        gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        logging_steps=max(1, config.eval_steps // 2),
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


def train(model, tokenizer, train_records: list[dict], eval_records: list[dict],
          lora: LoraSettings, config: TrainConfig, output_dir: str):
    """Fine-tune LoRA adapters on `model`; return (peft model, TrainStats)."""
    if not train_records or not eval_records:
        raise ValueError("train, eval: expected at least one record in each")
    # datasets.Dataset with input_ids/attention_mask/labels, read back from the cache on a rerun
    train_set, eval_set = (encode_dataset(records_dataset(records), tokenizer, EncodeConfig(max_length=config.max_length))
                           for records in (train_records, eval_records))
    set_seed(config.seed)  # the LoRA init too: every seed of an arm starts from its own adapter weights
    model = add_lora(model, lora)
    if config.gradient_checkpointing:
        model.enable_input_require_grads()
    stats = TrainStats()
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
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    _synchronize()
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=last_checkpoint(output_dir) if config.resume else None)
    _synchronize()
    stats.train_seconds = time.perf_counter() - start - stats.eval_seconds
    stats.steps = trainer.state.global_step
    stats.stopped_early = stats.steps < trainer.state.max_steps  # max_steps: the planned steps
    stats.tokens_per_s = stats.train_tokens / stats.train_seconds
    stats.samples_per_s = stats.train_samples / stats.train_seconds
    stats.peak_memory = peak_memory()
    stats.best_eval_loss = trainer.state.best_metric
    stats.log_history = trainer.state.log_history
    return trainer.model, stats
