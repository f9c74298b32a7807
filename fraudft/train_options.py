"""Training options: fraudft's own (fraudft.train.TrainConfig) and transformers.TrainingArguments', by name.

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
