"""The default task, `is_fraud`: is the dialogue fraud? A bool label, True the positive class.

Records hold it in `label` as a JSON bool; answers and replies in `is_fraud` (`{"is_fraud": true}`);
the answer schemas `is_fraud` (the reference's) and `is_fraud_speaker_reason` train it; score mode
reads P(fraud) as the softmax over the `true` and `false` tokens where the two answers first differ.
Files spell the label as a JSON bool (JSON, JSONL, alpaca's and ShareGPT's answers), a text cell
exactly true, false, 1 or 0 in any case (CSV), or a boolean or 0/1 integer column (Parquet, hub).
"""

from __future__ import annotations

from dataclasses import dataclass

from fraudft.task.base import DEFAULT_TASK, TASKS, Task

TEXT_LABELS = {"true": True, "false": False, "1": True, "0": False}  # CSV cells, compared lower-cased


@dataclass(frozen=True)
class BoolTask(Task):
    """A binary task whose labels are the JSON bools (False, True), True the positive class."""

    def label_from_text(self, text):
        return TEXT_LABELS.get(text.lower(), text) if isinstance(text, str) else text

    def label_from_typed(self, value):
        return bool(value) if type(value) is int and value in (0, 1) else value


IS_FRAUD = TASKS.add(DEFAULT_TASK, BoolTask(
    name=DEFAULT_TASK, label_field="label", answer_key="is_fraud", labels=(False, True),
    label_names=("false", "true"), answers=("is_fraud", "is_fraud_speaker_reason"),
    label_words="a JSON bool (true or false)", label_kind="a bool", positive=True))
