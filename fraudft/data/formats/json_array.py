"""The `json` reader: one JSON array of records; errors name FILE: item N."""

from __future__ import annotations

from pathlib import Path

from fraudft.data.formats.base import RawRecords, json_array, rename_columns, reader

@reader("json", suffixes=(".json", ".jsonl"), places="item", labels="a JSON bool (true or false)")
def _read_json(path: Path, column_map: dict) -> RawRecords:
    for n, item in enumerate(json_array(path), start=1):
        yield f"item {n}", rename_columns(item, column_map, path, f"item {n}")

