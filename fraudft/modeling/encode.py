"""Encode a record for training exactly as the reference does (REFERENCE §2), minus its defect.

    fraudft encode eval.jsonl --tokenizer qwen2-offline --max-length 256

The prompt is the Qwen2 chat prompt around `instruction + input`, the target is
`{"is_fraud": true|false}` followed by one terminator token (the pad token `<|endoftext|>`, as in
the reference), and labels are -100 on every prompt token. Unlike the reference, `max_length` is
met by shortening the dialogue (its end is cut), never the answer and terminator; the encoder
reports which records were truncated.

Template "reference" writes the prompt string of the article; template "chat" renders it with the
tokenizer's own chat template, for models other than Qwen2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from fraudft.errors import UsageError

IGNORE_INDEX = -100
REFERENCE_PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
)


@dataclass(frozen=True)
class EncodeConfig:
    """How records become token ids."""

    max_length: int = 2048
    template: Literal["reference", "chat"] = "reference"

    def __post_init__(self):
        if not isinstance(self.max_length, int) or self.max_length < 1:
            raise ValueError(f"max_length: got {self.max_length!r}, expected a positive integer")
        if self.template not in ("reference", "chat"):
            raise ValueError(f"template: got {self.template!r}, expected 'reference' or 'chat'")


def target_text(label: bool) -> str:
    """The answer the model is trained to give."""
    return json.dumps({"is_fraud": label}, ensure_ascii=False)


def terminator_id(tokenizer) -> int:
    """The token that ends the answer: the pad token as in the reference, else eos."""
    token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if token_id is None:
        raise UsageError("tokenizer has neither a pad nor an eos token to end the answer with")
    return token_id


class Encoder:
    """Turns records into `input_ids`, `attention_mask`, `labels` and a `truncated` flag."""

    def __init__(self, tokenizer, config: EncodeConfig = EncodeConfig()):
        self.tokenizer, self.config = tokenizer, config
        self.terminator = terminator_id(tokenizer)
        self.target_ids = {label: self._ids(target_text(label)) + [self.terminator] for label in (True, False)}

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def prompt_text(self, instruction: str, dialogue: str) -> str:
        """The full prompt string, ending where the assistant's answer starts."""
        text = instruction + dialogue
        if self.config.template == "reference":
            return REFERENCE_PROMPT.format(text=text)
        return self.tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )

    def prompt_ids(self, record: dict, budget: int | None = None) -> tuple[list[int], bool]:
        """Prompt token ids within `budget` tokens (the dialogue's end is cut), and whether it was cut."""
        ids, removed = self.fit_prompt(record, budget)
        return ids, removed > 0

    def fit_prompt(self, record: dict, budget: int | None = None) -> tuple[list[int], int]:
        """Prompt token ids within `budget` tokens (the dialogue's end is cut), and how many tokens
        the cut removed (the whole prompt's length minus the kept one; 0 when it fits).

        Raises UsageError when even the prompt without any dialogue exceeds `budget`."""
        ids = self._ids(self.prompt_text(record["instruction"], record["input"]))
        full = len(ids)
        if budget is None or full <= budget:
            return ids, 0
        dialogue = record["input"]
        pieces = self.tokenizer(dialogue, add_special_tokens=False, return_offsets_mapping=True)
        offsets = pieces["offset_mapping"]
        keep = len(offsets) - (full - budget)
        # Re-encoding the shortened prompt can merge tokens differently at the cut, so shrink
        # until the whole prompt fits.
        while keep > 0:
            ids = self._ids(self.prompt_text(record["instruction"], dialogue[: offsets[keep - 1][1]]))
            if len(ids) <= budget:
                return ids, full - len(ids)
            keep -= len(ids) - budget
        ids = self._ids(self.prompt_text(record["instruction"], ""))
        if len(ids) > budget:
            raise UsageError(
                f"max_length: {self.config.max_length} leaves {budget} tokens for a prompt that needs "
                f"{len(ids)} without any dialogue, expected a larger max_length"
            )
        return ids, full - len(ids)

    def encode(self, record: dict) -> dict:
        """One training example: prompt and answer, labels masked on the prompt."""
        target = self.target_ids[record["label"]]
        prompt, truncated = self.prompt_ids(record, budget=self.config.max_length - len(target))
        return {
            "input_ids": prompt + target,
            "attention_mask": [1] * (len(prompt) + len(target)),
            "labels": [IGNORE_INDEX] * len(prompt) + target,
            "truncated": truncated,
        }

    def encode_all(self, records: list[dict]) -> list[dict]:
        return [self.encode(record) for record in records]
