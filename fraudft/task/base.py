"""What is predicted: the Task interface and the registry of tasks (TASKS).

A task owns the label space and everything that depends on it; the layers above (records and
readers, the task format's answers, reply parsing, evaluation, metrics, run records) ask it instead
of assuming a bool label and P(fraud):

    task = get_task()                   # the default task, is_fraud; get_task("is_fraud") the same
    task.label_field                    # "label": the record field holding the label
    task.labels, task.label_names       # (False, True), ("false", "true")
    task.is_label(record["label"])      # the JSON rule: exactly one of `labels`, by type and value
    task.answer_key, task.answers       # "is_fraud"; ("is_fraud", "is_fraud_speaker_reason")
    task.reply_label(value)             # (label, None) or (None, "is_fraud is not a bool (got 1)")
    task.label_split(target_ids)        # score mode: the answers' shared prefix, one token per label
    task.scores(logits, label_ids)      # score mode: one score per row (binary: P(positive))
    task.positive, task.code(label)     # binary metrics: the positive class, and its code 1

Run records keep labels and predictions as codes, a label's index in `labels`; a binary task lists
its positive class last, so that code 1 is the positive class of every binary metric.

A second task registers beside is_fraud (fraudft/task/is_fraud.py is the model), e.g. the
multi-class fraud type, whose classes come from the train split:

    from fraudft.task import TASKS, Task

    def fraud_type_task(classes: tuple[str, ...]) -> Task:
        return Task(name="fraud_type", label_field="fraud_type", answer_key="fraud_type",
                    labels=classes, label_names=classes, answers=("fraud_type",),
                    label_words=f"one of the class names {', '.join(classes)}", label_kind="a class name")

    TASKS.add("fraud_type", fraud_type_task(("none", "impersonation", "investment")))

and an answer schema `fraud_type` registers in fraudft.modeling.taskformat (the label-only answer
`{"fraud_type": "..."}`, the same function as is_fraud's). Its labels are strings, checked by the
same `is_label`; replies parse with `reply_label`; with no positive class the binary metrics refuse
it, and scoring each class by its answer's log-likelihood overrides `label_split`/`scores` (the
answers then share no single differing token). This module imports nothing of fraudft above core.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fraudft.core.registry import Registry

DEFAULT_TASK = "is_fraud"


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return f"{text[:40]}{'...' if len(text) > 40 else ''}"


@dataclass(frozen=True)
class Task:
    """A label space and how records, answers, replies and scores express it (module docstring).

    name: the registry name, stored in run records and task formats.
    label_field: the record field holding the label. answer_key: the label's key in an answer's JSON
    (the trained answer, parsed replies, alpaca outputs, ShareGPT answers).
    labels: the label values in order (a label's code is its index); label_names: one display name
    each. answers: the answer schemas (fraudft.modeling.taskformat.ANSWERS names) that train this
    task, the default first. positive: the positive class of a binary task (the last label), None
    for a multi-class one. label_words: how a label must be written, for data errors; label_kind:
    the same in a few words, for reply statuses ("a bool")."""

    name: str
    label_field: str
    answer_key: str
    labels: tuple
    label_names: tuple[str, ...]
    answers: tuple[str, ...]
    label_words: str
    label_kind: str = "a label"
    positive: object = None

    def __post_init__(self):
        if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"task {self.name}: labels: got {self.labels!r}, expected two or more distinct values")
        if len(self.label_names) != len(self.labels):
            raise ValueError(f"task {self.name}: label_names: got {len(self.label_names)}, expected one per label "
                             f"({len(self.labels)})")
        if not self.answers:
            raise ValueError(f"task {self.name}: answers: expected at least one answer schema")
        if self.positive is not None and (len(self.labels) != 2 or not self._same(self.labels[-1], self.positive)):
            raise ValueError(f"task {self.name}: positive: got {self.positive!r}, expected the last of two labels "
                             "(its code 1 is the positive class of binary metrics)")

    # --- labels -------------------------------------------------------------------------------

    @staticmethod
    def _same(a, b) -> bool:
        return type(a) is type(b) and a == b  # `type is`: 0/1 are not bools, True is not 1

    def is_label(self, value) -> bool:
        """Whether `value`, as decoded from JSON (or converted by a reader's rule), is one of the
        labels: same type and value (the JSON rule: "true" and 1 are not True)."""
        return any(self._same(value, label) for label in self.labels)

    def code(self, label) -> int:
        """The label's index in `labels` (run records' 0/1 for a binary task); ValueError if none."""
        for i, known in enumerate(self.labels):
            if self._same(label, known):
                return i
        raise ValueError(f"task {self.name}: got label {label!r}, expected {self.label_words}")

    def name_of(self, label) -> str:
        """The display name of a label."""
        return self.label_names[self.code(label)]

    def label_from_text(self, text):
        """A label written as text (a CSV cell): the label whose name it is, else `text` unchanged
        (is_label then refuses it, in the reader's words)."""
        return next((label for label, name in zip(self.labels, self.label_names) if name == text), text)

    def label_from_typed(self, value):
        """A label from a typed column (Parquet, hub datasets): unchanged here; a task may accept
        its own typed spellings (is_fraud: an integer 0/1)."""
        return value

    # --- answers and replies ------------------------------------------------------------------

    def answer_value(self, label):
        """The JSON value an answer writes for `label` (the label itself: true/false, a class name)."""
        return label

    def reply_label(self, value) -> tuple[object, str | None]:
        """(label, None) for the `answer_key` value of a parsed reply, else (None, why)."""
        if self.is_label(value):
            return value, None
        return None, f"{self.answer_key} is not {self.label_kind} (got {_shown(value)})"

    # --- scores and metrics -------------------------------------------------------------------

    @property
    def binary(self) -> bool:
        return self.positive is not None

    @property
    def negative(self):
        """A binary task's other class (the first label); ValueError for a multi-class task."""
        if not self.binary:
            raise ValueError(f"task {self.name}: has {len(self.labels)} classes and no positive class, "
                             "expected a binary task")
        return self.labels[0]

    def label_split(self, target_ids: dict) -> tuple[list[int], dict]:
        """Score mode's single forward pass: the token ids every label's answer shares before they
        first differ, and each label's token at that position ({label: id}). `target_ids` holds each
        label's answer ids. ValueError when the answers do not differ at one token position."""
        answers = [target_ids[label] for label in self.labels]
        k = next((i for i, ids in enumerate(zip(*answers)) if len(set(ids)) > 1), None)
        if k is None or len({ids[k] for ids in answers}) != len(answers):
            raise ValueError(f"task {self.name}: the answers of its labels do not differ at one token, "
                             "expected one distinct token per label after a shared prefix")
        return list(answers[0][:k]), {label: ids[k] for label, ids in zip(self.labels, answers)}

    def scores(self, logits, label_ids: dict) -> list[float]:
        """One score per row of `logits` (a batch x vocabulary tensor at the position where the
        answers differ): for a binary task P(positive), the softmax over (positive, negative)."""
        if not self.binary:
            raise ValueError(f"task {self.name}: a score needs a positive class, expected a binary task "
                             "(a multi-class task overrides scores)")
        pair = logits[:, [label_ids[self.positive], label_ids[self.negative]]].float()
        return pair.softmax(dim=-1)[:, 0].tolist()


TASKS: Registry[Task] = Registry("task")


def get_task(name: str | None = None, option: str | None = None) -> Task:
    """The registered task `name` (None: DEFAULT_TASK); UsageError naming `option` and the known tasks."""
    return TASKS.lookup(DEFAULT_TASK if name is None else name, option=option)
