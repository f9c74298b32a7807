"""Generated replies and how they read: the task's label in a JSON answer (the default task's `is_fraud`
verdict), or why there is none.

    verdict, status = read_reply('{"is_fraud": true, "is_fraud": false}')   # None, "invalid: duplicated key 'is_fraud'"

A reply is valid when it is one JSON object (a ```json fence around it is stripped) with a bool
`is_fraud` and no key repeated in any object at any depth: json.loads alone keeps the last of
repeated keys, so `{"is_fraud": true, "is_fraud": false}` would read as false although the model
said both. Invalid replies count as the wrong answer in the strict metrics and as "not fraud" in
the reference's (fraudft.engine.evaluate). Which key holds the label and which values it may take are the
task's (fraudft.task: `answer_key`, `reply_label`; the default is_fraud's are described here).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from fraudft.task import Task, get_task

FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
OK = "ok"
CUT = "cut at max_new_tokens (no stop token)"


@dataclass(frozen=True)
class Reply:
    """A generated reply: its text (special tokens dropped), and `cut` when generation stopped at
    max_new_tokens before producing a stop token (such a reply is usually unfinished JSON)."""

    text: str
    cut: bool = False


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """json object_pairs_hook: the object as a dict; raises _DuplicateKey on a repeated key."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def reply_object(text: str, task: Task | None = None) -> dict | None:
    """The JSON object of a valid reply (read_reply's "ok": its other fields, e.g. fraud_speaker and
    reason of the three-field answer, read from it), else None."""
    match = FENCE.match(text)
    if read_reply(text, task)[1] != OK:
        return None
    return json.loads(match.group(1) if match else text)


def read_reply(text: str, task: Task | None = None) -> tuple[bool | None, str]:
    """(verdict, status) of a reply under `task` (None: the default, is_fraud): (the label, "ok"), or
    (None, "invalid: <why>") where why is one of: not JSON; not a JSON object (got <type>);
    duplicated key '<key>'; no is_fraud key; is_fraud is not a bool (got <JSON value>) (the task's
    answer_key and Task.reply_label's words)."""
    task = task or get_task()
    match = FENCE.match(text)
    try:
        value = json.loads(match.group(1) if match else text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as err:
        return None, f"invalid: duplicated key {err.key!r}"
    except (ValueError, RecursionError):  # JSONDecodeError, an over-long integer, absurd nesting
        return None, "invalid: not JSON"
    if not isinstance(value, dict):
        return None, f"invalid: not a JSON object (got {type(value).__name__})"
    if task.answer_key not in value:
        return None, f"invalid: no {task.answer_key} key"
    verdict, why = task.reply_label(value[task.answer_key])
    if why is not None:
        return None, f"invalid: {why}"
    return verdict, OK


def parse_reply(text: str, task: Task | None = None) -> bool | None:
    """The label of a JSON reply (the default task's `is_fraud` bool; a ```json fence is stripped);
    None if it is invalid."""
    return read_reply(text, task)[0]


def reply_status(reply: Reply, task: Task | None = None) -> str:
    """read_reply's status of the reply's text, with "; cut at max_new_tokens (no stop token)"
    added when generation was cut, e.g. "invalid: not JSON; cut at max_new_tokens (no stop token)"."""
    status = read_reply(reply.text, task)[1]
    return f"{status}; {CUT}" if reply.cut else status
