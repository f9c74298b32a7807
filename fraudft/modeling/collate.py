"""Batch encoded examples: left padding for the label-position loss, scoring and generation; right
padding for the full-logit loss.

Padding is done by transformers' DataCollatorForSeq2Seq (labels padded with -100, attention mask
0 on pads); this module only picks the side without touching the caller's tokenizer. A tokenizer
without a pad token pads with eos (fraudft.modeling.taskformat.pad_token_id). Every forward
pass over a padded batch gets its positions from `position_ids_for(attention_mask)` (the Collator
adds them with `position_ids=True`): HF causal LMs called without position_ids number a row from
its first pad, which a model with learned absolute positions (GPT-2) reads as another input.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from transformers import DataCollatorForSeq2Seq

from fraudft.modeling.encode import IGNORE_INDEX
from fraudft.modeling.taskformat import with_pad_token

MODEL_FIELDS = ("input_ids", "attention_mask", "labels")


def position_ids_for(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted from each row's first real token (0 on left pads, the last real position
    repeated on right pads; attention ignores both).

    attention_mask: (batch, seq_len) of 0/1 (or bool), padded on either side; returns a long tensor
    of the same shape. HF causal LMs use arange(seq_len) when no position_ids are passed outside
    generate(), which shifts every left-padded row by its pad count: harmless for RoPE (attention
    is shift-invariant up to rounding), wrong for learned positions.
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


class Collator:
    """Pads a list of encoded examples into a batch of tensors on the given side.

    With `position_ids=True` the batch also holds `position_ids` (batch, seq_len) from
    position_ids_for, for callers that pass the batch straight to the model (scoring, generation).
    """

    def __init__(self, tokenizer, side: Literal["left", "right"] = "right", pad_to_multiple_of: int | None = None,
                 position_ids: bool = False):
        if side not in ("left", "right"):
            raise ValueError(f"side: got {side!r}, expected 'left' or 'right'")
        # padding_side is read from the tokenizer: use a private copy; no pad token (Llama-3): eos pads
        sided = copy.copy(with_pad_token(tokenizer))
        sided.padding_side = side
        self.side, self.position_ids = side, position_ids
        self._collator = DataCollatorForSeq2Seq(
            sided,
            padding=True,
            pad_to_multiple_of=pad_to_multiple_of,
            label_pad_token_id=IGNORE_INDEX,
            return_tensors="pt",
        )

    def __call__(self, features: list[dict]) -> dict:
        batch = self._collator([{k: f[k] for k in MODEL_FIELDS if k in f} for f in features])
        if batch.get("labels") is None:
            batch.pop("labels", None)
        if self.position_ids:
            batch["position_ids"] = position_ids_for(batch["attention_mask"])
        return batch
