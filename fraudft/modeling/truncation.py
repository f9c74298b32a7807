"""How much of a split max_length cut: the dialogues shortened and the prompt tokens they lost.

    truncation_summary(records, encoded, Encoder(tokenizer, EncodeConfig(max_length=256)))
    # {"records": 2349, "dialogues_shortened": 299, "tokens_removed": 41230}

The encoder cuts the end of the dialogue, never the answer (fraudft.modeling.encode), and flags
each example it cut (`truncated`). Tokens removed are, over the flagged examples, the full prompt's
length minus the kept prompt's (its positions labelled IGNORE_INDEX), so only the cut records are
tokenised again.
"""

from __future__ import annotations

from fraudft.modeling.encode import IGNORE_INDEX, Encoder


def removed_tokens(encoder: Encoder, record: dict, example: dict) -> int:
    """Prompt tokens `example` (encoder.encode(record), or its encoded-dataset row) lost to max_length."""
    if not example["truncated"]:
        return 0
    kept = sum(1 for label in example["labels"] if label == IGNORE_INDEX)
    return len(encoder.prompt_ids(record)[0]) - kept


def truncation_summary(records: list[dict], encoded, encoder: Encoder) -> dict:
    """{"records": n, "dialogues_shortened": n cut, "tokens_removed": prompt tokens cut in all}
    of `encoded`, encode_dataset's Dataset of `records` (one example per record, in order)."""
    shortened = [i for i, cut in enumerate(encoded["truncated"]) if cut]
    return {"records": len(records), "dialogues_shortened": len(shortened),
            "tokens_removed": sum(removed_tokens(encoder, records[i], encoded[i]) for i in shortened)}
