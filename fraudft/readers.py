"""One reader per data format, registered by name; every format ends in the same validated records.

    from fraudft.readers import load_records, parse_column_map
    records = load_records("eval0819_alpaca.jsonl")                 # detected: an alpaca JSON array
    records = load_records("x.csv", column_map=parse_column_map("input=text,label=is_fraud"))
    records = load_records("x.data", format="parquet")              # the suffix says nothing: name it

Formats (FORMATS, filled by `@reader(...)`), each yielding one raw record per line, item or row:
    jsonl    one JSON record a line (REFERENCE §1)          errors: FILE:LINE: field: ...
    json     one JSON array of such records                  errors: FILE: item N: field: ...
    alpaca   LLaMA-Factory's alpaca array: instruction, input, output (the answer as JSON text,
             `{"is_fraud": true, "fraud_speaker": ..., "reason": ...}`); the label is output's
             is_fraud, fraud_speaker and reason become fields (fraud_speaker "" when output has none),
             other output keys and other item keys are kept as extra fields
    sharegpt chats (`conversations` or `messages`): one user turn (instruction + input), one
             assistant turn (the answer as JSON text, read as alpaca's output); fraudft.sharegpt
                                                             errors: FILE: item N: conversations[1].value: ...
    csv      a header row, then one record a row (UTF-8)     errors: FILE: row N: field: ...
    parquet  one record a row                                errors: FILE: row N: field: ...
    hub      a hub dataset split OWNER/NAME:SPLIT, rows as Parquet's (fraudft.hub)
                                                             errors: SOURCE: row N: field: ...

Detection (format=None): OWNER/NAME:SPLIT that is not an existing file is hub; .csv and .parquet
by suffix; a .jsonl or .json file is a JSON array when its first non-space character is "[": alpaca
if the first item has `output` and no `label`, json if it has `label`, sharegpt if it has
`conversations` or `messages`, else a UsageError asking for --format; otherwise it is JSONL. Any
other suffix asks for --format. `place_word(path)` says how a file's records are named (its
format's `places`), for reports that list records by number (the audit, mitigate).

Labels. Every record then passes `fraudft.records.validate_record` (label a bool, strings strings),
after one rule per format turns the format's own spelling of a bool into one, and nothing else:
    jsonl, json    a JSON bool (true/false) only: "true", 1 and 0 are refused
    alpaca         output's is_fraud, a JSON bool only
    sharegpt       the assistant answer's is_fraud, a JSON bool only
    csv            cells are text: exactly true, false, 1 or 0, in any case ("True", "FALSE" too)
    parquet, hub   a boolean column, or an integer column holding 0/1; text ("TRUE") is refused
CSV has no null: an empty cell is the empty string (an empty fraud_speaker stays "").

Column maps ({field: source column}, from `--column-map input=text,label=is_fraud`) rename source
columns to record fields before anything else (for alpaca, the fields are instruction, input and
output). A mapped column missing from a table's header is a DataError naming the column; missing
from a JSON record, one naming the line or item and the column.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from fraudft.core.errors import DataError, DataWarning, UsageError
from fraudft.task import Task, get_task
from fraudft.records import (
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    _describe,
    _printable,
    _too_deep_message,
    iter_jsonl,
    validate_record,
)

ALPACA_FIELDS = ("instruction", "input", "output")
CHAT_KEYS = ("conversations", "messages", "system")  # ShareGPT items (fraudft.sharegpt)
MAPPABLE_FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "output", *CHAT_KEYS)  # output: the alpaca answer
ARRAY_FORMATS = "alpaca, json or sharegpt"
RawRecords = Iterator[tuple[int | str, object]]


@dataclass(frozen=True)
class Format:
    """A registered format: how to read a file into raw (place, record) pairs, and its label rule."""

    name: str
    suffixes: tuple[str, ...]  # detected by suffix alone (.json/.jsonl are looked into instead)
    places: str  # how messages name a record: "line", "item" or "row"
    labels: str  # the label rule, in words (README, errors)
    read: Callable[[Path, dict], RawRecords]
    to_label: Callable[[object, Task], object] | None  # (value, task): the format's spelling of one of
    # the task's labels -> that label, else unchanged; None: the label must already be one (the
    # JSON rule), checked (and worded) by validate_record


FORMATS: dict[str, Format] = {}


def reader(name: str, *, suffixes: tuple[str, ...] = (), places: str, labels: str,
           to_label: Callable[[object, Task], object] | None = None):
    """Register `read(path, column_map) -> iterator of (place, raw record)` as format `name`."""

    def register(read: Callable[[Path, dict], RawRecords]):
        FORMATS[name] = Format(name, suffixes, places, labels, read, to_label)
        return read

    return register


# --- column maps ------------------------------------------------------------------------------


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


def _rename(record, column_map: dict, path: Path, place) -> object:
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


def _check_header(columns: list[str], column_map: dict, path: Path, needed: tuple[str, ...]) -> None:
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


# --- readers ----------------------------------------------------------------------------------


@reader("jsonl", suffixes=(".jsonl",), places="line", labels="a JSON bool (true or false)")
def _read_jsonl(path: Path, column_map: dict) -> RawRecords:
    try:
        for line, record in iter_jsonl(path):
            yield line, _rename(record, column_map, path, line)
    except DataError as err:
        if err.field == "json" and err.line == 1 and _first_char(path) == "[":
            raise UsageError(f"{path}: a JSON array, not JSONL: use --format {ARRAY_FORMATS}") from err
        raise


def _json_array(path: Path) -> list:
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


@reader("json", places="item", labels="a JSON bool (true or false)")
def _read_json(path: Path, column_map: dict) -> RawRecords:
    for n, item in enumerate(_json_array(path), start=1):
        yield f"item {n}", _rename(item, column_map, path, f"item {n}")


def answer_items(path: Path, column_map: dict, to_record: Callable[[dict, Path, str], dict]) -> RawRecords:
    """(place, record) of each item of a JSON array whose items hold the answer as text (alpaca,
    sharegpt): `to_record(item, path, place)` makes the record; a non-object item is passed on for
    validate_record to name."""
    for n, item in enumerate(_json_array(path), start=1):
        place = f"item {n}"
        item = _rename(item, column_map, path, place)
        yield place, (to_record(item, path, place) if isinstance(item, dict) else item)


@reader("alpaca", places="item", labels="output's is_fraud, a JSON bool (true or false)")
def _read_alpaca(path: Path, column_map: dict) -> RawRecords:
    return answer_items(path, column_map, _from_alpaca)


def _from_alpaca(item: dict, path: Path, place: str) -> dict:
    for field in ALPACA_FIELDS:
        if field not in item:
            raise DataError(path, place, field, "missing, expected an alpaca item (instruction, input, output)")
    record = {key: value for key, value in item.items() if key != "output"}
    record.update(answer_fields(parse_answer(item["output"], path, place, "output")))
    return record


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


from fraudft import sharegpt  # noqa: E402,F401  registers `sharegpt` here, after alpaca, with the helpers above


def _csv_label(value, task: Task):
    """A text cell as the task reads it (is_fraud: true, false, 1 or 0 in any case), else unchanged."""
    return task.label_from_text(value)


@reader("csv", suffixes=(".csv",), places="row", to_label=_csv_label,
        labels="a text cell: exactly true, false, 1 or 0, in any case")
def _read_csv(path: Path, column_map: dict) -> RawRecords:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a long dialogue is one cell
    try:
        handle = path.open(encoding="utf-8-sig", newline="")  # -sig: Excel's byte-order mark
    except OSError as err:
        raise DataError(path, None, "file", f"cannot be read ({err.strerror})") from err
    with handle:
        rows = csv.reader(handle)
        n = 0
        try:
            header = next(rows, None)
            if header is None:
                raise DataError(path, None, "file", "is empty, expected a header row and one record a row")
            if len(set(header)) < len(header):
                twice = sorted({c for c in header if header.count(c) > 1})
                raise DataError(path, None, _printable(twice[0]), "column named twice in the header, expected distinct names")
            _check_header(header, column_map, path, tuple(REQUIRED_FIELDS))
            for n, cells in enumerate(rows, start=1):
                if len(cells) != len(header):
                    raise DataError(path, f"row {n}", "record", f"{len(cells)} cells, expected {len(header)} (one per column)")
                yield f"row {n}", _rename(dict(zip(header, cells)), column_map, path, f"row {n}")
        except UnicodeDecodeError as err:
            raise DataError(path, f"row {n + 1}" if n else None, "encoding",
                            f"byte {err.start} of a read block is not valid UTF-8, expected UTF-8 text") from err
        except csv.Error as err:
            raise DataError(path, f"row {n + 1}", "csv", f"{err}, expected CSV") from err
    if n == 0:
        raise DataError(path, None, "file", "has a header but no rows, expected at least one record")


def _typed_label(value, task: Task):
    """Typed columns (Parquet, hub datasets) as the task reads them (is_fraud: a bool, or an integer
    0/1); anything else unchanged."""
    return task.label_from_typed(value)


TYPED_LABELS = "a boolean column, or an integer column of 0/1 (text such as \"TRUE\" is refused)"
HUB_ID = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+):(?P<split>[\w.-]+)")


@reader("parquet", suffixes=(".parquet",), places="row", to_label=_typed_label, labels=TYPED_LABELS)
def _read_parquet(path: Path, column_map: dict) -> RawRecords:
    import pyarrow
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except OSError as err:
        raise DataError(path, None, "file", f"cannot be read ({getattr(err, 'strerror', None) or err})") from err
    except pyarrow.ArrowException as err:
        raise DataError(path, None, "file", f"cannot be parsed ({err}), expected a Parquet table") from err
    yield from typed_rows(table.to_pylist(), table.column_names, path, column_map)


def typed_rows(rows: list[dict], columns: list[str], source, column_map: dict) -> RawRecords:
    """Rows of a typed table (Parquet, a hub dataset) as raw (place, record) pairs."""
    _check_header(columns, column_map, source, tuple(REQUIRED_FIELDS))
    for n, row in enumerate(rows, start=1):
        yield f"row {n}", _rename(row, column_map, source, f"row {n}")


from fraudft import hub  # noqa: E402,F401  registers `hub` here, after parquet, with typed_rows above


# --- loading ----------------------------------------------------------------------------------


def detect_format(path: str | Path, column_map: dict | None = None) -> str:
    """The format of `path` where unambiguous (see the module docstring), else a UsageError."""
    path = Path(path)
    if HUB_ID.fullmatch(str(path)) and not path.exists():
        return "hub"
    suffix = path.suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.suffixes and suffix != ".jsonl":
            return fmt.name
    if suffix not in (".jsonl", ".json"):
        raise UsageError(f"{path}: format: cannot tell from the suffix {suffix or '(none)'!r}, "
                         f"expected --format {', '.join(FORMATS)} (or a hub dataset as OWNER/NAME:SPLIT)")
    if _first_char(path) != "[":
        return "jsonl"
    first = _json_array(path)[0]
    column_map = column_map or {}
    has = {f: isinstance(first, dict) and column_map.get(f, f) in first for f in ("label", "output", *CHAT_KEYS)}
    if has["label"]:
        return "json"
    if has["output"]:
        return "alpaca"
    if has["conversations"] or has["messages"]:
        return "sharegpt"
    looked = ", ".join(column_map.get(f, f) + (f" (--column-map {f}=...)" if f in column_map else "")
                       for f in ("label", "output", "conversations", "messages"))
    keys = ", ".join(map(str, first)) if isinstance(first, dict) else type(first).__name__
    raise UsageError(f"{path}: a JSON array: use --format {ARRAY_FORMATS} (its first item has none of the keys "
                     f"{looked}; it has {keys})")


def _first_char(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(4096):
                if stripped := chunk.lstrip():
                    return stripped[:1].decode("latin-1")
    except OSError as err:
        raise DataError(path, None, "file", f"cannot be read ({err.strerror})") from err
    return ""


def load_records(path: str | Path, format: str | None = None, column_map: dict | str | None = None,
                 task: Task | None = None) -> list[dict]:
    """Read and validate a file of records: a list of dicts with input, label (bool), fraud_speaker,
    instruction (and reason, extras); the label field and rule are `task`'s (None: the default,
    is_fraud). `format`: a FORMATS name, or None to detect it. Raises
    DataError (FILE:LINE / FILE: item N / FILE: row N: field: ...) on the first bad record, UsageError
    for an unknown or undetectable format; warns (DataWarning) once about empty inputs."""
    path = Path(path)
    column_map = parse_column_map(column_map) if isinstance(column_map, str) or column_map is None else column_map
    if format is None:
        format = detect_format(path, column_map)
    if format not in FORMATS:
        raise UsageError(f"--format: got {format!r}, expected one of {', '.join(FORMATS)}")
    fmt = FORMATS[format]
    return validated(fmt.read(path, column_map), path, fmt, task)


def validated(raw: RawRecords, source, fmt: Format, task: Task | None = None) -> list[dict]:
    """Apply the format's label rule and validate_record (`task`'s labels; None: the default) to each
    raw record; warn about empty inputs."""
    task = task or get_task()
    field = task.label_field
    records, empty = [], []
    for place, record in raw:
        if fmt.to_label is not None and isinstance(record, dict) and field in record:
            label = fmt.to_label(record[field], task)
            if not task.is_label(label):
                raise DataError(source, place, field, f"got {_describe(label)}, expected {fmt.labels} ({fmt.name})")
            record[field] = label
        records.append(validate_record(record, source, place, task))
        if not record["input"].strip():
            empty.append(place)
    if not records:
        raise DataError(source, None, "file", "holds no records, expected at least one")
    if empty:
        numbers = [str(p).split()[-1] for p in empty]
        warnings.warn(f"{source}: {len(empty)} record(s) with an empty input, at {fmt.places}(s) {', '.join(numbers)}",
                      DataWarning, stacklevel=3)
    return records


def place_word(path: str | Path, format: str | None = None, column_map: dict | str | None = None) -> str:
    """How messages name the records of `path`: "line", "item" or "row" (its format's `places`)."""
    column_map = parse_column_map(column_map) if isinstance(column_map, str) or column_map is None else column_map
    return FORMATS[format or detect_format(path, column_map)].places


def load_named_splits(paths: list[str | Path], format: str | None = None,
                      column_map: dict | None = None, task: Task | None = None) -> dict[str, list[dict]]:
    """Load files as splits named by their stem (train.csv -> train); by path if stems collide;
    labels as `task` (None: the default) reads them."""
    paths = [Path(p) for p in paths]
    if len({p.resolve() for p in paths}) < len(paths):
        raise UsageError(f"files: {', '.join(map(str, paths))}: a file is given twice, expected distinct files")
    stems = [p.stem for p in paths]
    names = stems if len(set(stems)) == len(stems) else [str(p) for p in paths]
    return {name: load_records(path, format, column_map, task) for name, path in zip(names, paths)}

