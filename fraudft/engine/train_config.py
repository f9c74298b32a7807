"""The training configuration: fraudft's own fields (TrainConfig, the reference's arguments as
defaults, REFERENCE §4) and transformers.TrainingArguments', by name.

A recipe's [train] table, an arm's `train` table and `fraudft train --train-arg KEY=VALUE` take any
TrainConfig field (batching, loss, liger, compile, max_length, progress, resume, ...) and any
`transformers.TrainingArguments` field (neftune_noise_alpha, optim, lr_scheduler_kwargs,
max_grad_norm, adam_beta2, ...), which goes to TrainingArguments as given and wins over what fraudft
derives from its own fields. A TrainingArguments name of a field fraudft owns under its own name is
read as that field (lr_scheduler_type = lr_scheduler, warmup_steps = warmup,
per_device_train_batch_size = batch_size, ...), so each setting has one place in the config and the
record. `output_dir` belongs to the run.

transformers is imported only when names are checked, so arms and the CLI load without it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from dataclasses import dataclass, field
from typing import Literal

# TrainingArguments' name -> the TrainConfig field that sets it (same-named fields need no entry)
ALIASES = {"per_device_train_batch_size": "batch_size", "gradient_accumulation_steps": "grad_accum",
           "num_train_epochs": "epochs", "warmup_steps": "warmup", "lr_scheduler_type": "lr_scheduler",
           "torch_compile": "compile"}
RUN_OWNED = ("output_dir",)  # set by the run, never by a config


@functools.cache
def training_argument_names() -> frozenset[str]:
    """The keyword arguments transformers.TrainingArguments takes."""
    from transformers import TrainingArguments

    return frozenset(f.name for f in dataclasses.fields(TrainingArguments) if f.init)


def unknown_key(key: str, known) -> str:
    """One line for an unknown training option, close matches first."""
    close = difflib.get_close_matches(str(key), sorted(known), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{key}: unknown training option, expected a fraudft TrainConfig field or a transformers.TrainingArguments field{hint}"


def split_options(options: dict, own: set[str] | frozenset[str]) -> tuple[dict, dict]:
    """({TrainConfig field: value}, {TrainingArguments field: value}) of a table of training options
    (TrainingArguments spellings of fraudft's fields renamed to them); ValueError naming a bad key."""
    mine, passed = {}, {}
    for key, value in options.items():
        name = ALIASES.get(key, key)
        if name in own:
            if name in mine:
                raise ValueError(f"{key}: given twice (as {key} and {name}); use {name}")
            mine[name] = value
        else:
            passed[key] = value
    check_passthrough(passed, own)
    return mine, passed


def check_passthrough(passed: dict, own) -> None:
    """ValueError (one line) for a key TrainingArguments does not take, or one fraudft sets."""
    names = training_argument_names()
    for key in passed:
        if key in RUN_OWNED:
            raise ValueError(f"{key}: set by the run, not by a config")
        if key in own or key in ALIASES:
            raise ValueError(f"{key}: a fraudft TrainConfig field, not a pass-through TrainingArguments option")
        if key not in names:
            raise ValueError(unknown_key(key, names | set(own)))


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
    gradient_checkpointing: bool | Literal["auto"] = "auto"  # auto: on only if activations would not fit
    # padding_free: the batches (and so the loss trajectory) of `padded`, without computing pads;
    # measured fastest on the 2-core CPU (1355 vs 1250 length_grouped vs 830 padded tokens/s)
    batching: Literal["padded", "length_grouped", "padding_free"] = "padding_free"
    compile: bool = False  # torch.compile the model (CUDA only)
    liger: bool = False  # Liger's Triton kernels for RMSNorm, SwiGLU and RoPE (CUDA only; `fraudft[liger]`)
    loss: Literal["label_positions", "full"] = "label_positions"
    max_length: int = 2048
    seed: int = 0
    progress: bool = True
    save_steps: int = 0  # > 0: a full checkpoint every save_steps steps, to resume from
    resume: bool = False  # continue from the last complete checkpoint in output_dir, if there is one
    # any other transformers.TrainingArguments keyword argument, as given (fraudft.engine.train_config)
    training_args: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, options: dict) -> TrainConfig:
        """A TrainConfig from a table of training options: its own fields, TrainingArguments
        spellings of them, and any other TrainingArguments field (into training_args)."""
        options = dict(options)
        passed = dict(options.pop("training_args", None) or {})  # as a record stores it
        own, more = split_options(options, OWN_FIELDS)
        return cls(**own, training_args={**passed, **more})

    def with_options(self, options: dict) -> TrainConfig:
        """This config with `options` (any key from_dict takes) laid over it."""
        if not options:
            return self
        own, passed = split_options(options, OWN_FIELDS)
        return dataclasses.replace(self, **own, training_args={**self.training_args, **passed})

    def __post_init__(self):
        if not isinstance(self.training_args, dict):
            raise ValueError(f"training_args: got {self.training_args!r}, expected a table of TrainingArguments fields")
        check_passthrough(self.training_args, OWN_FIELDS)
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
        if self.gradient_checkpointing not in (True, False, "auto"):
            raise ValueError(f"gradient_checkpointing: got {self.gradient_checkpointing!r}, expected true, false or 'auto'")
        if self.batching not in BATCHINGS:
            raise ValueError(f"batching: got {self.batching!r}, expected one of {', '.join(BATCHINGS)}")


BATCHINGS = ("padded", "length_grouped", "padding_free")
OWN_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig)) - {"training_args"}
