"""The `parquet` reader: one record a row of a typed table; errors name FILE: row N."""

from __future__ import annotations

from pathlib import Path

from fraudft.core.errors import DataError
from fraudft.data.formats.base import TYPED_LABELS, RawRecords, reader, typed_label, typed_rows

@reader("parquet", suffixes=(".parquet",), places="row", to_label=typed_label, labels=TYPED_LABELS)
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

