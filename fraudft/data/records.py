"""Validate, summarise and split records in the reference format (REFERENCE §1); write JSONL.

Every format (JSONL, JSON and alpaca arrays, ShareGPT, CSV, Parquet, hub) is read by
fraudft.data.formats into the same records, through validate_record here (fraudft.data.loading).

    fraudft data validate train.jsonl eval.jsonl
    fraudft data stats eval.jsonl --json

    from fraudft.data.loading import load_named_splits
    splits = load_named_splits(["train.jsonl", "test.jsonl"])  # {"train": [...], "test": [...]}

One record a line: `input` (str, the dialogue), `label` (JSON bool), `fraud_speaker` (str, may be
empty), `instruction` (str); an optional `reason` (str) and any unknown extra fields are kept.
The label field and its values are the task's (fraudft.task; the default is_fraud's above): under
is_fraud the label must be a JSON bool, the strings "true"/"false" and the numbers 0/1 are
rejected, so that a mislabelled file is caught instead of silently coerced. Values that would crash a later step
are rejected at load time, naming the field: strings with a lone UTF-16 surrogate (`"\\ud800"`:
valid JSON, not encodable as UTF-8), values nested deeper than MAX_NESTING, and integers longer
than Python's int-string limit.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

from fraudft.core import jsonio
from fraudft.core.errors import DataError
from fraudft.task import Task, get_task

REFERENCE_INSTRUCTION = (
    "\n下面是一段对话文本, 请分析对话内容是否有诈骗风险，以json格式输出你的判断结果(is_fraud: true/false)。\n"
)
TEXT_FIELDS = ("input", "fraud_speaker", "instruction")  # JSON strings, whatever the task


def required_fields(task: Task | None = None) -> tuple[str, ...]:
    """The fields every record of `task` (None: the default) has: input, the task's label field,
    fraud_speaker, instruction."""
    return ("input", (task or get_task()).label_field, *TEXT_FIELDS[1:])


REQUIRED_FIELDS = required_fields()  # the default task's: input, label, fraud_speaker, instruction
OPTIONAL_FIELDS = ("reason",)  # a JSON string when present
MAX_NESTING = 32  # records are flat; deeper extras are rejected before a recursive step meets them
_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins valid pairs, so any left is lone
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+|[\[\]{}:]')


def _describe(value) -> str:
    return f"{type(value).__name__} {_printable(json.dumps(value, ensure_ascii=False)[:40])}"


def _check_values(record: dict, path: str | Path, line) -> None:
    """Reject lone surrogates (in keys and strings) and over-deep nesting in every field.

    Iterative, so that a deep value cannot hit Python's recursion limit here."""
    for field, value in record.items():
        stack = [(field, 1), (value, 1)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, str):
                if match := _SURROGATE.search(item):
                    raise DataError(
                        path, line, _printable(field), f"lone surrogate \\u{ord(match.group()):04x} at character "
                        f"{match.start()}, expected valid Unicode text (surrogates only in pairs)"
                    )
            elif isinstance(item, (dict, list)):
                if depth > MAX_NESTING:
                    raise DataError(path, line, _printable(field), _too_deep_message())
                pairs = item.items() if isinstance(item, dict) else ((None, v) for v in item)
                for key, child in pairs:
                    stack += [(key, depth + 1), (child, depth + 1)]


def _too_deep_message() -> str:
    return f"nested more than {MAX_NESTING} levels deep, expected a flatter value"


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _field_holding(text: str, is_culprit) -> str:
    """The top-level key whose value holds the first JSON token for which `is_culprit(token,
    depth)` is true, or "record". Used only after json.loads failed on the line, so it scans
    the raw text: json gives no position for RecursionError or an over-long integer."""
    depth, key, last_string = 0, None, None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
        elif token in ("]", "}"):
            depth -= 1
        elif token == ":" and depth == 1:
            key = last_string
        elif token.startswith('"'):
            last_string = token
        if is_culprit(token, depth):
            return "record" if key is None else _printable(json.loads(key))
    return "record"


def _parse_line(text: str, path: Path, line: int):
    """json.loads, with every way it fails turned into a DataError naming the line and field."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(path, line, "json", f"{err.msg} at column {err.colno}, expected one JSON object") from err
    except RecursionError:
        field = _field_holding(text, lambda token, depth: depth > MAX_NESTING)
        raise DataError(path, line, field, _too_deep_message()) from None
    except ValueError as err:  # Python's int-string limit (CVE-2020-10735); no position given
        limit = sys.get_int_max_str_digits()
        field = _field_holding(text, lambda token, depth: token.lstrip("-").isdigit() and len(token.lstrip("-")) > limit)
        raise DataError(
            path, line, field, f"an integer of more than {limit} digits, expected a JSON bool or a shorter number"
        ) from err


def validate_record(record, path: str | Path, line: int | str, task: Task | None = None) -> dict:
    """Check one decoded record against the reference format and the label rule of `task` (None:
    the default, is_fraud); return it unchanged.

    `line` locates the record in messages: a line number, or e.g. "row 3" for tabular files."""
    task = task or get_task()
    if not isinstance(record, dict):
        raise DataError(path, line, "record", f"got {_describe(record)}, expected a JSON object")
    required = required_fields(task)
    for field in (*required, *OPTIONAL_FIELDS):
        is_label = field == task.label_field
        expected = task.label_words if is_label else "a JSON string"
        if field not in record:
            if field in required:
                raise DataError(path, line, field, f"missing, expected {expected}")
            continue
        # the task's is_label compares types too (`type is`, not isinstance: 0/1 are not bools)
        if not (task.is_label(record[field]) if is_label else type(record[field]) is str):
            raise DataError(path, line, field, f"got {_describe(record[field])}, expected {expected}")
    _check_values(record, path, line)
    return record


def iter_jsonl(path: str | Path):
    """(line number, decoded JSON value) for each line of a JSONL file, not yet validated; raises
    DataError for an unreadable or empty file, a blank line, bad UTF-8 or bad JSON."""
    path = Path(path)
    try:
        raw_lines = path.read_bytes().split(b"\n")
    except OSError as err:
        raise DataError(path, None, "file", f"cannot be read ({err.strerror})") from err
    if raw_lines and raw_lines[-1].strip() == b"":
        raw_lines.pop()  # the newline that ends the last record
    if not raw_lines:
        raise DataError(path, None, "file", "is empty, expected one JSON record per line")
    for line_no, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                path, line_no, "encoding", f"byte {err.start} is not valid UTF-8, expected UTF-8 text"
            ) from err
        if not text.strip():
            raise DataError(path, line_no, "record", "blank line, expected a JSON object")
        yield line_no, _parse_line(text, path, line_no)


def write_jsonl(records: list[dict], path: str | Path) -> None:
    """Write records as UTF-8 JSONL, atomically (a temp file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
        try:
            for record in records:
                tmp.write(jsonio.dumps(record, nonfinite="raise", ensure_ascii=False) + "\n")  # data: never altered
        except BaseException:
            os.unlink(tmp.name)  # leave no temp file behind when a record cannot be written
            raise
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.name, 0o666 & ~umask)  # the usual mode of a new file, not the temp file's 0600
    os.replace(tmp.name, path)


def count_turns(dialogue: str) -> int:
    """Number of non-empty lines of a dialogue."""
    return sum(1 for line in dialogue.split("\n") if line.strip())


def summarize(records: list[dict]) -> dict:
    """Label distribution (as the article's view_data_distribution) and length statistics per class."""
    import pandas as pd  # imported here: `fraudft data validate` needs neither pandas nor sklearn

    frame = pd.DataFrame(
        {
            "label": [r["label"] for r in records],
            "chars": [len(r["input"]) for r in records],
            "turns": [count_turns(r["input"]) for r in records],
        }
    )
    per_class = {}
    for label, name in ((True, "true"), (False, "false")):
        part = frame[frame["label"] == label]
        per_class[name] = {
            column: {
                stat: (float(part[column].agg(stat)) if len(part) else None)
                for stat in ("mean", "median", "min", "max")
            }
            for column in ("chars", "turns")
        }
    return {
        "total_count": len(frame),
        "true_count": int(frame["label"].sum()),
        "false_count": int((~frame["label"].astype(bool)).sum()),
        "per_class": per_class,
    }


def stratified_split(
    records: list[dict], fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0, task: Task | None = None
) -> list[list[dict]]:
    """Split records into len(fractions) parts with the same label ratio in each (seeded); the label
    is `task`'s (None: the default, is_fraud)."""
    from sklearn.model_selection import train_test_split

    field = (task or get_task()).label_field
    if any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions: got {fractions}, expected positive numbers summing to 1")
    parts, rest, left = [], list(records), 1.0
    for fraction in fractions[:-1]:
        taken, rest = train_test_split(
            rest, train_size=fraction / left, random_state=seed, stratify=[r[field] for r in rest]
        )
        parts.append(taken)
        left -= fraction
    parts.append(rest)
    return parts
