"""Causal-LM loss with logits computed only where labels are, through the model's own forward.

    loss = label_position_loss(model, batch, num_items_in_batch)  # batch left-padded: Collator(tok, "left")

The reference computes logits over the 151,936-token vocabulary at every position although only
the ~8 answer tokens carry loss. Every answer here is `{"is_fraud": true|false}` + a terminator,
so in a left-padded batch the labels sit in the last k columns of every row. The model's own
forward (through whatever wraps it: peft, DDP, so hooks run and gradients are synchronised) is
called with `logits_to_keep=k + 1`, which keeps whatever its head adds (Gemma-2's final logit
softcapping, Cohere's logit_scale, Granite's logits_scaling), and the model's own loss function
(transformers' ForCausalLMLoss: shifted cross-entropy, `num_items_in_batch` normalisation under
gradient accumulation) is applied to those logits. Value and gradients equal the full-logit loss.

A batch whose answers do not end every row (right padding), or a model whose forward takes no
`logits_to_keep`, gets the full-logit loss and a LossFallbackWarning.
"""

from __future__ import annotations

import inspect
import warnings

import torch

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


def answer_span(labels: torch.Tensor) -> int | None:
    """k such that every next-token label lies in the last k columns, when each row's labels end
    at its last column (answers lined up at the end); else None."""
    has_label = labels[:, 1:] != IGNORE_INDEX  # column 0 is never predicted
    if has_label.shape[1] == 0 or not bool(has_label[:, -1].all()):
        return None
    first = has_label.int().argmax(dim=1)  # the first labelled column of each row
    return has_label.shape[1] - int(first.min())


def position_ids_for(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted from each row's first real token (0 on left pads).

    HF causal LMs use arange(seq_len) when no position_ids are passed outside generate(), which
    shifts every left-padded row by its pad count: harmless for RoPE, wrong for learned positions.
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def _warn(reason: str) -> None:
    warnings.warn(f"label-position loss: {reason}; using the full-logit loss", LossFallbackWarning, stacklevel=3)


def label_position_loss(model, batch: dict, num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
    """Shifted cross-entropy over the positions that carry a label, with logits only there.

    `model` is called as given (wrapped or not); `batch` holds input_ids, attention_mask, labels
    and optionally position_ids (else derived from the attention mask).
    """
    labels = batch["labels"]
    inputs = {"input_ids": batch["input_ids"], "use_cache": False}
    if batch.get("attention_mask") is not None:
        inputs["attention_mask"] = batch["attention_mask"]
        inputs["position_ids"] = batch.get("position_ids", position_ids_for(batch["attention_mask"]))
    loss_kwargs = {} if num_items_in_batch is None else {"num_items_in_batch": num_items_in_batch}
    span = answer_span(labels)
    if span is None:
        _warn("the labels do not end every row (expected left padding, answers last)")
    elif not accepts_logits_to_keep(model):
        _warn(f"{type(causal_lm_of(model)).__name__}.forward takes no logits_to_keep")
    else:
        # k + 1 logits: the one before the first label predicts it; the last predicts nothing.
        logits = model(**inputs, logits_to_keep=span + 1).logits
        return causal_lm_of(model).loss_function(
            logits=logits, labels=labels[:, -(span + 1):], vocab_size=logits.shape[-1], **loss_kwargs
        )
    return model(**inputs, labels=labels, **loss_kwargs).loss
