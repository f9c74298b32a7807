"""The `sharegpt` reader of fraudft.data.formats: chat-style JSON arrays, one conversation an item.

    from fraudft.data.loading import load_records
    records = load_records("train_sharegpt.json")          # detected: the first item has conversations
    records = load_records("chats.json", format="sharegpt")

Two spellings, as LLaMA-Factory reads them:
    conversations  [{"from": "human", "value": USER}, {"from": "gpt", "value": ANSWER}], with an
                   optional item key `system` (or a first {"from": "system", ...} turn)
    messages       [{"role": "user", "content": USER}, {"role": "assistant", "content": ANSWER}],
                   an optional first {"role": "system", ...} message (or an item key `system`)
One conversation is one record: an optional system turn, then exactly one user turn, then exactly
one assistant turn. ANSWER is the answer as JSON text, read as alpaca's output is
(fraudft.data.formats.base.parse_answer): is_fraud becomes the label, fraud_speaker ("" when absent), reason
and any other answer keys become fields. The system text, where given, is kept as the field
`system`; other item keys are kept as extra fields.

The user turn holds the instruction and the dialogue together. It is split once, at its first line
break that follows some non-blank text: `instruction` is the turn up to and including that line
break, `input` the rest (a turn without such a break is all `input`, with instruction ""). This is
the inverse of LLaMA-Factory's join (instruction + "\\n" + input) for a one-line instruction, and
gives the reference records back from the reference's own (whose instruction is "\\n...。\\n"). A
multi-line instruction leaves its later lines at the head of `input`. Either way instruction +
input is the user turn, so the reference prompt (instruction followed by input) is unchanged.

Errors name the item and the field: `FILE: item N: conversations[1].value: not JSON ...`,
`FILE: item N: messages: no assistant turn, ...`.
"""

from __future__ import annotations

from pathlib import Path

from fraudft.core.errors import DataError
from fraudft.data.formats.base import RawRecords, answer_fields, answer_items, parse_answer, reader
from fraudft.data.records import _describe

# The two spellings: the item key, a turn's role and text keys, and the role names.
ROLES = ("system", "user", "assistant")  # in this order, the system turn optional
SPELLINGS = {
    "conversations": {"role": "from", "text": "value", "system": "system", "user": "human", "assistant": "gpt"},
    "messages": {"role": "role", "text": "content", "system": "system", "user": "user", "assistant": "assistant"},
}


@reader("sharegpt", suffixes=(".json", ".jsonl"), places="item", labels="the assistant answer's is_fraud, a JSON bool (true or false)")
def _read_sharegpt(path: Path, column_map: dict) -> RawRecords:
    return answer_items(path, column_map, from_conversation)


def split_user_turn(text: str) -> tuple[str, str]:
    """(instruction, input) of a user turn: split after its first line break that follows
    non-blank text; ("", text) when there is none. instruction + input == text."""
    start = len(text) - len(text.lstrip())
    cut = text.find("\n", start)
    return ("", text) if cut < 0 else (text[: cut + 1], text[cut + 1:])


def from_conversation(item: dict, path: Path, place: str) -> dict:
    """One ShareGPT item as a raw record (see the module docstring); DataError naming the field."""
    keys = [key for key in SPELLINGS if key in item]
    if len(keys) != 1:
        what = "both conversations and messages" if keys else "no conversations or messages"
        raise DataError(path, place, "conversations", f"{what}, expected one list of turns (a ShareGPT item)")
    key, spelling = keys[0], SPELLINGS[keys[0]]
    turns = item[key]
    if not isinstance(turns, list):
        raise DataError(path, place, key, f"got {_describe(turns)}, expected a list of turns")
    names, texts = [], []
    for i, turn in enumerate(turns):
        where = f"{key}[{i}]"
        if not isinstance(turn, dict):
            raise DataError(path, place, where, f"got {_describe(turn)}, expected an object with {spelling['role']} and {spelling['text']}")
        for field in (spelling["role"], spelling["text"]):
            if field not in turn:
                raise DataError(path, place, f"{where}.{field}", f"missing, expected a {key} turn ({spelling['role']}, {spelling['text']})")
        role, text = turn[spelling["role"]], turn[spelling["text"]]
        by_role = {spelling[name]: name for name in ROLES}
        if not isinstance(role, str) or role not in by_role:
            raise DataError(path, place, f"{where}.{spelling['role']}", f"got {_describe(role)}, expected one of {', '.join(by_role)}")
        if not isinstance(text, str):
            raise DataError(path, place, f"{where}.{spelling['text']}", f"got {_describe(text)}, expected a string")
        names.append(by_role[role])
        texts.append(text)
    order = f"an optional {spelling['system']} turn, then one {spelling['user']} turn, then one {spelling['assistant']} turn"
    expected = list(ROLES) if names[:1] == ["system"] else ["user", "assistant"]
    for i, (got, want) in enumerate(zip(names, expected)):
        if got != want:
            raise DataError(path, place, f"{key}[{i}].{spelling['role']}", f"got {spelling[got]!r}, expected {spelling[want]!r} ({order})")
    if len(names) < len(expected):
        missing = spelling[expected[len(names)]]
        raise DataError(path, place, key, f"no {missing} turn, expected {order}")
    if len(names) > len(expected):
        raise DataError(path, place, f"{key}[{len(expected)}]", f"a turn after the {spelling['assistant']} answer, expected "
                        f"{order} (one record a conversation)")
    texts = dict(zip(names, texts))
    record = {k: v for k, v in item.items() if k != key}
    if "system" in texts:
        if "system" in item:
            raise DataError(path, place, "system", f"given twice (the item's system and {key}[0]), expected one")
        record["system"] = texts["system"]
    instruction, dialogue = split_user_turn(texts["user"])
    record.update({"instruction": instruction, "input": dialogue})
    answer_at = f"{key}[{len(names) - 1}].{spelling['text']}"
    record.update(answer_fields(parse_answer(texts["assistant"], path, place, answer_at)))
    return record
