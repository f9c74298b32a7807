"""What every reader shares: the format registry, column maps, and the JSON answer and typed-table
helpers of several formats. The readers themselves are the other modules of fraudft.data.formats.

    @reader("csv", suffixes=(".csv",), places="row", labels="...", to_label=...)
    def read_csv(path: Path, column_map: dict) -> RawRecords: ...   # yields (place, raw record)
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from fraudft.core.errors import DataError, UsageError
from fraudft.core.registry import Registry
from fraudft.task import Task
from fraudft.data.records import OPTIONAL_FIELDS, REQUIRED_FIELDS, _describe, _printable, _too_deep_message

ALPACA_FIELDS = ("instruction", "input", "output")
CHAT_KEYS = ("conversations", "messages", "system")  # ShareGPT items (fraudft.data.formats.sharegpt)
MAPPABLE_FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "output", *CHAT_KEYS)  # output: the alpaca answer
ARRAY_FORMATS = "alpaca, json or sharegpt"
TYPED_LABELS = "a boolean column, or an integer column of 0/1 (text such as \"TRUE\" is refused)"
HUB_ID = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+):(?P<split>[\w.-]+)")
RawRecords = Iterator[tuple[int | str, object]]


@dataclass(frozen=True)
class Format:
    """A registered format: how to read a file into raw (place, record) pairs, and its label rule."""

    name: str
    suffixes: tuple[str, ...]  # the files it reads; a suffix claimed by one format alone names it
    places: str  # how messages name a record: "line", "item" or "row"
    labels: str  # the label rule, in words (README, errors)
    read: Callable[[Path, dict], RawRecords]
    to_label: Callable[[object, Task], object] | None  # (value, task): the format's spelling of one of
    # the task's labels -> that label, else unchanged; None: the label must already be one (the
    # JSON rule), checked (and worded) by validate_record


FORMATS: Registry[Format] = Registry("format")


def reader(name: str, *, suffixes: tuple[str, ...] = (), places: str, labels: str,
           to_label: Callable[[object, Task], object] | None = None):
    """Register `read(path, column_map) -> iterator of (place, raw record)` as format `name`."""
    return FORMATS.decorator(name, wrap=lambda read: Format(name, suffixes, places, labels, read, to_label))


def file_suffixes() -> tuple[str, ...]:
    """Every suffix some registered format reads, in registration order (a data folder's files)."""
    return tuple(dict.fromkeys(s for fmt in FORMATS.values() for s in fmt.suffixes))


def first_char(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(4096):
                if stripped := chunk.lstrip():
                    return stripped[:1].decode("latin-1")
    except OSError as err:
        raise DataError(path, None, "file", f"cannot be read ({err.strerror})") from err
    return ""


# --- column maps ---------------------------------------------------------------------------------


def parse_column_map(text: str | None) -> dict[str, str]:
    """"input=text,label=is_fraud" -> {"input": "text", "label": "is_fraud"}; None or "" -> {}."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for pair in text.split(","):
        field, sep, column = (part.strip() for part in pair.partition("="))
        if not sep or not field or not column:
            raise UsageError(f"--column-map: got {pair!r}, expected FIELD=COLUMN pairs such as input=text,label=is_fraud")
        if field not in MAPPABLE_FIELDS:
            raise UsageError(f"--column-map: got field {field!r}, expected one of {', '.join(MAPPABLE_FIELDS)}")
        if field in mapping:
            raise UsageError(f"--column-map: field {field!r} mapped twice, expected each field once")
        mapping[field] = column
    if len(set(mapping.values())) < len(mapping):
        raise UsageError(f"--column-map: {text}: a column is mapped twice, expected distinct columns")
    return mapping


def rename_columns(record, column_map: dict, path: Path, place) -> object:
    """The record with each mapped column renamed to its field (the mapped column wins over a
    column already named like the field)."""
    if not column_map or not isinstance(record, dict):
        return record
    for field, column in column_map.items():
        if column not in record:
            raise DataError(path, place, _printable(column), f"missing (--column-map {field}={column}), expected a {column} field in every record")
    renamed = {k: v for k, v in record.items() if k not in column_map.values() and k not in column_map}
    renamed.update({field: record[column] for field, column in column_map.items()})
    return renamed


def check_header(columns: list[str], column_map: dict, path: Path, needed: tuple[str, ...]) -> None:
    """Tables: every mapped column and every field still needed is in the header."""
    for field, column in column_map.items():
        if column not in columns:
            raise DataError(path, None, _printable(column), f"no such column (--column-map {field}={column}), "
                            f"expected one of the columns {', '.join(map(str, columns))}")
    mapped = set(column_map) | (set(columns) - set(column_map.values()))
    for field in needed:
        if field not in mapped:
            raise DataError(path, None, field, f"no such column, expected the columns {', '.join(needed)} "
                            f"(or --column-map {field}=COLUMN)")


# --- JSON arrays and answers -----------------------------------------------------------------------


def json_array(path: Path) -> list:
    """The file's one JSON array, parse errors naming the line (or the file)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise DataError(path, None, "file", f"cannot be read ({err.strerror})") from err
    except UnicodeDecodeError as err:
        raise DataError(path, None, "encoding", f"byte {err.start} is not valid UTF-8, expected UTF-8 text") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, "json", f"{err.msg} at column {err.colno}, expected one JSON array") from err
    except RecursionError:
        raise DataError(path, None, "json", _too_deep_message()) from None
    except ValueError as err:  # Python's int-string limit
        raise DataError(path, None, "json", f"an integer of more than {sys.get_int_max_str_digits()} digits, "
                        "expected shorter numbers") from err
    if not isinstance(data, list):
        raise DataError(path, None, "file", f"got {_describe(data)}, expected a JSON array of records")
    if not data:
        raise DataError(path, None, "file", "is an empty array, expected at least one record")
    return data


def answer_items(path: Path, column_map: dict, to_record: Callable[[dict, Path, str], dict]) -> RawRecords:
    """(place, record) of each item of a JSON array whose items hold the answer as text (alpaca,
    sharegpt): `to_record(item, path, place)` makes the record; a non-object item is passed on for
    validate_record to name."""
    for n, item in enumerate(json_array(path), start=1):
        place = f"item {n}"
        item = rename_columns(item, column_map, path, place)
        yield place, (to_record(item, path, place) if isinstance(item, dict) else item)


def parse_answer(output, path, place: str, field: str) -> dict:
    """An answer's JSON text (alpaca's output, ShareGPT's assistant turn) as a dict with a bool
    is_fraud; else a DataError naming `field` of the item."""
    if not isinstance(output, str):
        raise DataError(path, place, field, f"got {_describe(output)}, expected the answer as JSON text such as "
                        '"{\\"is_fraud\\": true}"')
    try:
        answer = json.loads(output)
    except (ValueError, RecursionError) as err:
        why = f"{err.msg} at column {err.colno}" if isinstance(err, json.JSONDecodeError) else type(err).__name__
        raise DataError(path, place, field, f"not JSON ({why}) in {_printable(output[:40])!r}, expected JSON text "
                        'such as {"is_fraud": true}') from None
    if not isinstance(answer, dict) or "is_fraud" not in answer:
        raise DataError(path, place, field, f"no is_fraud in {_printable(output[:60])!r}, expected a JSON object "
                        'with a bool is_fraud, such as {"is_fraud": true}')
    if type(answer["is_fraud"]) is not bool:
        raise DataError(path, place, field, f"is_fraud: got {_describe(answer['is_fraud'])}, expected a JSON bool (true or false)")
    return answer


def answer_fields(answer: dict) -> dict:
    """A parsed answer as record fields: label (is_fraud), fraud_speaker ("" when the answer has
    none), and its other keys (reason, ...) as they are."""
    return {"label": answer["is_fraud"], "fraud_speaker": "", **{k: v for k, v in answer.items() if k != "is_fraud"}}


# --- typed tables (Parquet, hub datasets) ----------------------------------------------------------


def typed_label(value, task: Task):
    """Typed columns (Parquet, hub datasets) as the task reads them (is_fraud: a bool, or an integer
    0/1); anything else unchanged."""
    return task.label_from_typed(value)


def typed_rows(rows: list[dict], columns: list[str], source, column_map: dict) -> RawRecords:
    """Rows of a typed table (Parquet, a hub dataset) as raw (place, record) pairs."""
    check_header(columns, column_map, source, tuple(REQUIRED_FIELDS))
    for n, row in enumerate(rows, start=1):
        yield f"row {n}", rename_columns(row, column_map, source, f"row {n}")
