"""The `jsonl` reader: one JSON record a line (REFERENCE §1); errors name FILE:LINE."""

from __future__ import annotations

from pathlib import Path

from fraudft.core.errors import DataError, UsageError
from fraudft.data.formats.base import ARRAY_FORMATS, RawRecords, first_char, rename_columns, reader
from fraudft.data.records import iter_jsonl

@reader("jsonl", suffixes=(".jsonl", ".json"), places="line", labels="a JSON bool (true or false)")
def _read_jsonl(path: Path, column_map: dict) -> RawRecords:
    try:
        for line, record in iter_jsonl(path):
            yield line, rename_columns(record, column_map, path, line)
    except DataError as err:
        if err.field == "json" and err.line == 1 and first_char(path) == "[":
            raise UsageError(f"{path}: a JSON array, not JSONL: use --format {ARRAY_FORMATS}") from err
        raise

