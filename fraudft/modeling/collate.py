"""Batch encoded examples: left padding for the label-position loss, scoring and generation; right
padding for the full-logit loss.

Padding is done by transformers' DataCollatorForSeq2Seq (labels padded with -100, attention mask
0 on pads); this module only picks the side without touching the caller's tokenizer.
"""

from __future__ import annotations

import copy
from typing import Literal

from transformers import DataCollatorForSeq2Seq

from fraudft.modeling.encode import IGNORE_INDEX

MODEL_FIELDS = ("input_ids", "attention_mask", "labels")


class Collator:
    """Pads a list of encoded examples into a batch of tensors on the given side."""

    def __init__(self, tokenizer, side: Literal["left", "right"] = "right", pad_to_multiple_of: int | None = None):
        if side not in ("left", "right"):
            raise ValueError(f"side: got {side!r}, expected 'left' or 'right'")
        sided = copy.copy(tokenizer)  # padding_side is read from the tokenizer: use a private copy
        sided.padding_side = side
        self.side = side
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
        return batch
