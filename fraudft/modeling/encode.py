"""Encode a record for training as the reference does (REFERENCE §2), minus its defect.

    fraudft encode eval.jsonl --tokenizer qwen2-offline --max-length 256

The prompt and answer follow the task format (fraudft.modeling.taskformat.TaskFormat): by default
the reference's Qwen2 ChatML prompt around `instruction + input`, and `{"is_fraud": true|false}`
followed by one terminator token (the pad token `<|endoftext|>`, as in the reference); labels are
-100 on every prompt token. Unlike the reference, `max_length` is met by shortening the dialogue
(its end is cut), never the answer and terminator; the encoder reports which records were truncated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from fraudft.core.errors import UsageError
from fraudft.modeling.taskformat import REFERENCE_PROMPT, TaskFormat, pad_token_id

__all__ = ["IGNORE_INDEX", "REFERENCE_PROMPT", "EncodeConfig", "Encoder", "target_text", "terminator_id",
           "tokenizer_fingerprint"]

IGNORE_INDEX = -100


@dataclass(frozen=True)
class EncodeConfig:
    """How records become token ids: the length limit and the task format."""

    max_length: int = 2048
    format: TaskFormat = field(default_factory=TaskFormat)

    def __post_init__(self):
        if not isinstance(self.max_length, int) or self.max_length < 1:
            raise ValueError(f"max_length: got {self.max_length!r}, expected a positive integer")
        if not isinstance(self.format, TaskFormat):
            raise ValueError(f"format: got {self.format!r}, expected a TaskFormat")


def target_text(label: bool) -> str:
    """The reference answer (schema is_fraud of the default task) for a label."""
    fmt = TaskFormat()
    return fmt.answer_text({fmt.task_spec.label_field: label})


def terminator_id(tokenizer) -> int:
    """The token that ends the answer under the reference prompt: the pad token as in the
    reference, else eos (taskformat.pad_token_id); UsageError when there is neither."""
    return pad_token_id(tokenizer)


def tokenizer_fingerprint(tokenizer) -> str:
    """A sha256 of everything in a tokenizer that can change its ids: the serialised backend (a fast
    tokenizer's tokenizer.json: normalizer, pre-tokenizer, model, added tokens, post-processor; else
    the SentencePiece model or the vocabulary), the special tokens and added-token flags, the
    wrapper's settings (init_kwargs) and the chat template. Equal for a tokenizer and its
    save_pretrained/from_pretrained copy and after encode calls; different once a folder is edited in
    place. The cache key of encodings and the tokenizer half of an adapter's base (fraudft.modeling.provenance)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    sp_model = getattr(tokenizer, "sp_model", None)
    if backend is not None:  # less truncation and padding: each encode call sets them, they change no id
        serialised = json.dumps({k: v for k, v in json.loads(backend.to_str()).items() if k not in ("truncation", "padding")},
                                sort_keys=True, ensure_ascii=False)
    elif sp_model is not None and hasattr(sp_model, "serialized_model_proto"):
        serialised = sp_model.serialized_model_proto().hex()
    else:
        serialised = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False)
    settings = {key: value for key, value in tokenizer.init_kwargs.items() if key not in ("name_or_path", "vocab_file")}
    state = {
        "class": type(tokenizer).__name__,
        "backend": hashlib.sha256(serialised.encode("utf-8")).hexdigest(),
        "special_tokens": tokenizer.special_tokens_map,
        "added_tokens": {str(index): repr(token) for index, token in tokenizer.added_tokens_decoder.items()},
        "settings": settings,
        "chat_template": tokenizer.chat_template,
        "sides": (tokenizer.padding_side, tokenizer.truncation_side),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=repr, ensure_ascii=False).encode("utf-8")).hexdigest()


class Encoder:
    """Turns records into `input_ids`, `attention_mask`, `labels` and a `truncated` flag."""

    def __init__(self, tokenizer, config: EncodeConfig = EncodeConfig()):
        self.tokenizer, self.config, self.format = tokenizer, config, config.format
        self.terminator = self.format.terminator(tokenizer)
        self.task = self.format.task_spec
        # The answers to a record of each of the task's labels with empty other fields: score mode's
        # shared prefix and the label tokens come from these (Task.label_split).
        self.target_ids = {label: self.answer_ids({self.task.label_field: label, "fraud_speaker": "", "reason": ""})
                           for label in self.task.labels}

    @property
    def longest_target(self) -> int:
        """The length in tokens of the longest of target_ids (the room a prompt leaves for its answer)."""
        return max(len(ids) for ids in self.target_ids.values())

    def answer_ids(self, record: dict) -> list[int]:
        """The record's answer (the format's schema) and the terminator, as token ids."""
        return self._ids(self.format.answer_text(record)) + [self.terminator]

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def prompt_text(self, instruction: str, dialogue: str) -> str:
        """The full prompt string, ending where the assistant's answer starts."""
        return self.format.prompt_text(self.tokenizer, instruction, dialogue)

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
        target = self.answer_ids(record)
        prompt, truncated = self.prompt_ids(record, budget=self.config.max_length - len(target))
        return {
            "input_ids": prompt + target,
            "attention_mask": [1] * (len(prompt) + len(target)),
            "labels": [IGNORE_INDEX] * len(prompt) + target,
            "truncated": truncated,
        }

    def encode_all(self, records: list[dict]) -> list[dict]:
        return [self.encode(record) for record in records]
