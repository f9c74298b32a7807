"""The `csv` reader: a header row, then one record a row (UTF-8); errors name FILE: row N."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from fraudft.core.errors import DataError
from fraudft.data.formats.base import RawRecords, check_header, rename_columns, reader
from fraudft.data.records import REQUIRED_FIELDS, _printable
from fraudft.task import Task

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
            check_header(header, column_map, path, tuple(REQUIRED_FIELDS))
            for n, cells in enumerate(rows, start=1):
                if len(cells) != len(header):
                    raise DataError(path, f"row {n}", "record", f"{len(cells)} cells, expected {len(header)} (one per column)")
                yield f"row {n}", rename_columns(dict(zip(header, cells)), column_map, path, f"row {n}")
        except UnicodeDecodeError as err:
            raise DataError(path, f"row {n + 1}" if n else None, "encoding",
                            f"byte {err.start} of a read block is not valid UTF-8, expected UTF-8 text") from err
        except csv.Error as err:
            raise DataError(path, f"row {n + 1}", "csv", f"{err}, expected CSV") from err
    if n == 0:
        raise DataError(path, None, "file", "has a header but no rows, expected at least one record")

