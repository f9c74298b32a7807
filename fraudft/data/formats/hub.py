"""The `hub` reader of fraudft.data.formats: a split of a Hugging Face hub dataset, `OWNER/NAME:SPLIT`.

    from fraudft.data.loading import load_records
    records = load_records("someone/fraud-dialogues:train")       # detected: not a file, OWNER/NAME:SPLIT
    fraudft data validate someone/fraud-dialogues:test --column-map label=is_fraud

The split is loaded with `datasets.load_dataset(OWNER/NAME, split=SPLIT)`, which looks for a local
dataset folder of that relative name first, then the hub (or, offline, the datasets cache). Its
rows are read as a typed table, as Parquet's are: the label a boolean column or an integer column
of 0/1 (text is refused), a column map renames columns, and errors read `SOURCE: row N: field`.
Loading errors (offline, no such dataset, no such split) are UsageErrors naming the source.
"""

from __future__ import annotations

from pathlib import Path

from fraudft.core.errors import UsageError
from fraudft.data.formats.base import HUB_ID, TYPED_LABELS, RawRecords, file_suffixes, reader, typed_label, typed_rows


@reader("hub", places="row", to_label=typed_label, labels=TYPED_LABELS)
def _read_hub(path: Path, column_map: dict) -> RawRecords:
    yield from read_hub(str(path), column_map)


def parse_hub_id(source: str) -> tuple[str, str]:
    """"owner/name:split" -> ("owner/name", "split"); else a UsageError."""
    match = HUB_ID.fullmatch(source)
    if match is None:
        *some, last = file_suffixes()
        raise UsageError(
            f"{source}: data: not a file, expected an existing {', '.join(some)} or {last} file (or "
            "--format) or a hub dataset as OWNER/NAME:SPLIT (e.g. someone/fraud-dialogues:train)"
        )
    return match["repo"], match["split"]


def read_hub(source: str, column_map: dict, cache_dir: str | Path | None = None) -> RawRecords:
    """The rows of a hub dataset split `owner/name:split`, via `datasets.load_dataset(owner/name,
    split=split)`: the hub (or its cache; offline, the datasets cache only), or a local dataset
    folder of that relative name, which load_dataset looks for first. Errors: SOURCE: row N."""
    import datasets  # here: reading the other formats needs no `datasets`

    repo, split = parse_hub_id(source)
    try:
        dataset = datasets.load_dataset(repo, split=split, cache_dir=None if cache_dir is None else str(cache_dir))
    except (ConnectionError, FileNotFoundError, ValueError) as err:  # offline, no such dataset or split
        raise UsageError(f"{source}: data: cannot be loaded from the hub ({err}), expected a reachable dataset and split") from err
    yield from typed_rows(dataset.to_list(), dataset.column_names, source, column_map)
