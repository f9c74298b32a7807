"""Loading records: detect a file's format, read it with the registered reader, apply the format's
label rule and validate every record (fraudft.data.records.validate_record).

    from fraudft.data.loading import load_records, load_jsonl
    records = load_records("eval0819_alpaca.jsonl")       # detected: an alpaca JSON array
    records = load_records("x.data", format="parquet")     # the suffix says nothing: name it

The formats and their rules: fraudft.data.formats.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import fraudft.data.formats  # noqa: F401  registers every reader, in order
from fraudft.core.errors import DataError, DataWarning, UsageError
from fraudft.data.formats.base import (
    ARRAY_FORMATS,
    CHAT_KEYS,
    FORMATS,
    HUB_ID,
    Format,
    RawRecords,
    first_char,
    json_array,
    parse_column_map,
)
from fraudft.data.records import _describe, validate_record
from fraudft.task import Task, get_task


def detect_format(path: str | Path, column_map: dict | None = None) -> str:
    """The format of `path` where unambiguous (see the module docstring), else a UsageError."""
    path = Path(path)
    if HUB_ID.fullmatch(str(path)) and not path.exists():
        return "hub"
    suffix = path.suffix.lower()
    claimed = [fmt.name for fmt in FORMATS.values() if suffix in fmt.suffixes]
    if len(claimed) == 1:
        return claimed[0]
    if not claimed:
        raise UsageError(f"{path}: format: cannot tell from the suffix {suffix or '(none)'!r}, "
                         f"expected --format {', '.join(FORMATS)} (or a hub dataset as OWNER/NAME:SPLIT)")
    # The JSON family (.jsonl and .json): JSONL, or an array whose first item says which
    if first_char(path) != "[":
        return "jsonl"
    first = json_array(path)[0]
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
    fmt = FORMATS.lookup(format, option="--format")
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



def load_jsonl(path: str | Path) -> list[dict]:
    """Read and validate a JSONL file of records (load_records with format "jsonl")."""
    return load_records(path, "jsonl")
