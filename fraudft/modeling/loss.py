"""Causal-LM loss with logits computed only where labels are, through the model's own forward.

    loss = label_position_loss(model, batch, num_items_in_batch)  # padded either side, or padding-free

The reference computes logits over the 151,936-token vocabulary at every position although only
the ~8 answer tokens carry loss. Here the model's own forward (through whatever wraps it: peft,
DDP, so hooks run and gradients are synchronised) is called with a boolean `logits_to_keep` mask
of the positions whose next token is a label (transformers 5's slice_logits_to_keep), so the head
runs only there and keeps whatever it adds (Gemma-2's final logit softcapping, Cohere's
logit_scale, Granite's logits_scaling). The model's own loss function (transformers'
ForCausalLMLoss, with the labels those positions predict as `shift_labels` and the same
`num_items_in_batch` normalisation under gradient accumulation) gives the value. Value and
gradients equal the full-logit loss, for left- or right-padded and padding-free batches.

A model whose forward takes no `logits_to_keep`, or a batch without labels, gets the full-logit
loss and a LossFallbackWarning. Both losses call the model's loss function themselves, with
`num_items_in_batch`, rather than pass it through the model's forward: a class that declares
`accepts_loss_kwargs = False` may drop it there, and each micro-batch would be averaged on its own.

    loss = full_logit_loss(model, batch, num_items_in_batch)  # logits at every position, the same normalisation
"""

from __future__ import annotations

import inspect
import warnings

import torch

from fraudft.modeling.collate import position_ids_for
from fraudft.modeling.encode import IGNORE_INDEX


class LossFallbackWarning(UserWarning):
    """The label-position loss fell back to the full-logit loss (same value, no memory saving)."""


def causal_lm_of(model):
    """The transformers CausalLM inside DDP/FSDP (`.module`), torch.compile (`._orig_mod`) and peft."""
    while True:
        if hasattr(model, "get_base_model"):
            model = model.get_base_model()
        elif isinstance(getattr(model, "_orig_mod", None), torch.nn.Module):
            model = model._orig_mod
        elif isinstance(getattr(model, "module", None), torch.nn.Module):
            model = model.module
        else:
            return model


def accepts_logits_to_keep(model) -> bool:
    """Whether the model's forward can compute logits for the last positions only."""
    return "logits_to_keep" in inspect.signature(causal_lm_of(model).forward).parameters


def _warn(reason: str) -> None:
    warnings.warn(f"label-position loss: {reason}; using the full-logit loss", LossFallbackWarning, stacklevel=3)


def label_position_loss(model, batch: dict, num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
    """Shifted cross-entropy over the positions that carry a label, with logits only there.

    `model` is called as given (wrapped or not); `batch` holds input_ids, labels, and an
    attention_mask (padded rows) or position_ids (padding-free rows, positions restart per sequence).
    """
    labels = batch["labels"]
    inputs = {"input_ids": batch["input_ids"], "use_cache": False}
    if batch.get("attention_mask") is not None:
        inputs["attention_mask"] = batch["attention_mask"]
    if batch.get("position_ids") is not None:
        inputs["position_ids"] = batch["position_ids"]
    elif batch.get("attention_mask") is not None:
        inputs["position_ids"] = position_ids_for(batch["attention_mask"])
    loss_kwargs = {} if num_items_in_batch is None else {"num_items_in_batch": num_items_in_batch}
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX  # the positions whose next token is a label
    if not bool(keep.any()):
        _warn("no label in the batch")
    elif not accepts_logits_to_keep(model):
        _warn(f"{type(causal_lm_of(model)).__name__}.forward takes no logits_to_keep")
    else:
        # A boolean logits_to_keep gives one row of logits per kept position, in row-major order,
        # whatever the padding side or packing; the labels they predict are gathered alike.
        logits = model(**inputs, logits_to_keep=keep).logits
        return causal_lm_of(model).loss_function(
            logits=logits, labels=None, shift_labels=labels[:, 1:][keep[:, :-1]], vocab_size=logits.shape[-1],
            **loss_kwargs,
        )
    return _loss_of_logits(model, model(**inputs).logits, labels, loss_kwargs)


def full_logit_loss(model, batch: dict, num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
    """Shifted cross-entropy over every label, from logits at every position: the model's loss function
    called here with `num_items_in_batch` (the label tokens of the whole accumulated batch), whatever
    the model's forward does with loss keyword arguments. `batch`: input_ids, labels and the model's
    other inputs (attention_mask, position_ids)."""
    inputs = {name: value for name, value in batch.items() if name != "labels"}
    loss_kwargs = {} if num_items_in_batch is None else {"num_items_in_batch": num_items_in_batch}
    return _loss_of_logits(model, model(**inputs, use_cache=False).logits, batch["labels"], loss_kwargs)


def _loss_of_logits(model, logits: torch.Tensor, labels: torch.Tensor, loss_kwargs: dict) -> torch.Tensor:
    return causal_lm_of(model).loss_function(logits=logits, labels=labels, vocab_size=logits.shape[-1], **loss_kwargs)
