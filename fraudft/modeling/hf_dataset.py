"""Records as Hugging Face `datasets.Dataset`s: loaded from JSONL, CSV, Parquet or the hub, validated
row by row, and encoded for training with `Dataset.map`, cached on disk across runs.

    from fraudft.modeling.hf_dataset import load_records, encode_dataset
    records = load_records("data/train.jsonl")          # or .csv, .parquet, "owner/name:train"
    encoded = encode_dataset(records, tokenizer, EncodeConfig(max_length=256))
    encoded.cache_files                                  # the Arrow file a second run reads back

Every row passes `fraudft.records.validate_record`, so bad data fails the same way whatever the
format: JSONL goes through `load_jsonl` (errors name `FILE:LINE: field`), tabular rows name their
row (`FILE:row N: field`, N counting data rows from 1: a dialogue's newlines make CSV line numbers
useless). A dataset holds the four reference columns only; extra fields are dropped (they vary from
record to record, which an Arrow schema cannot hold; read them with `fraudft.records`).

Encoded datasets are cached in `$FRAUDFT_CACHE/datasets` (else the `datasets` cache) under a
fingerprint of the data, the tokenizer (name, vocabulary size, chat template), the EncodeConfig
and the encoding code itself, so a second run with the same inputs does not tokenise again.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import datasets
from datasets.fingerprint import Hasher

from fraudft.cache import cache_dir
from fraudft.errors import DataError, UsageError
from fraudft.modeling import encode as encode_module
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.records import REQUIRED_FIELDS, load_jsonl, validate_record

COLUMNS = tuple(REQUIRED_FIELDS)  # input, label, fraud_speaker, instruction
HUB_ID = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+):(?P<split>[\w.-]+)")
CSV_BOOLS = {"true": True, "false": False}
FILE_FORMATS = {".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}


def default_cache_dir() -> Path:
    """$FRAUDFT_CACHE/datasets, else the `datasets` library's own cache folder."""
    if "FRAUDFT_CACHE" in os.environ:
        return cache_dir("datasets")
    return Path(datasets.config.HF_DATASETS_CACHE)


def parse_hub_id(source: str) -> tuple[str, str]:
    """"owner/name:split" -> ("owner/name", "split")."""
    match = HUB_ID.fullmatch(source)
    if match is None:
        raise UsageError(
            f"{source}: data: not a file, expected an existing .jsonl, .csv or .parquet file "
            "or a hub dataset as OWNER/NAME:SPLIT (e.g. someone/fraud-dialogues:train)"
        )
    return match["repo"], match["split"]


def records_dataset(records: list[dict]) -> datasets.Dataset:
    """Validated record dicts as a Dataset of the reference columns (in memory; its fingerprint
    is a hash of the data, so equal records give equal fingerprints across runs)."""
    return datasets.Dataset.from_dict({column: [r[column] for r in records] for column in COLUMNS})


def load_records(source: str | Path, cache_dir: str | Path | None = None) -> datasets.Dataset:
    """Load and validate records from a .jsonl/.csv/.parquet file or a hub id `owner/name:split`."""
    path = Path(source)
    if path.suffix in FILE_FORMATS or path.exists():
        if path.suffix not in FILE_FORMATS:
            raise DataError(path, None, "file", f"unknown format {path.suffix!r}, expected {', '.join(FILE_FORMATS)}")
        if FILE_FORMATS[path.suffix] == "json":
            # Validated line by line first, so that errors keep their FILE:LINE: field form.
            return records_dataset(load_jsonl(path))
        if not path.is_file():
            raise DataError(path, None, "file", "cannot be read (no such file), expected a readable file")
        return _validated(_load_tabular(path, cache_dir), path)
    return load_hub_records(source, cache_dir)


def load_hub_records(source: str, cache_dir: str | Path | None = None) -> datasets.Dataset:
    """A split of a hub dataset (`owner/name:split`), validated row by row. Needs the network."""
    repo, split = parse_hub_id(str(source))
    try:
        dataset = datasets.load_dataset(repo, split=split, cache_dir=_str(cache_dir))
    except (ConnectionError, FileNotFoundError, ValueError) as err:  # offline, no such dataset or split
        raise UsageError(f"{source}: data: cannot be loaded from the hub ({err}), expected a reachable dataset and split") from err
    return _validated(dataset, source)


def _load_tabular(path: Path, cache_dir) -> datasets.Dataset:
    # keep_default_na/na_filter off: an empty CSV cell is the empty string (e.g. no fraud_speaker),
    # not a missing value.
    options = {"keep_default_na": False, "na_filter": False} if path.suffix == ".csv" else {}
    try:
        return datasets.load_dataset(FILE_FORMATS[path.suffix], data_files=str(path), split="train",
                                     cache_dir=_str(cache_dir), **options)
    except datasets.exceptions.DatasetGenerationError as err:
        raise DataError(path, None, "file", f"cannot be parsed ({err.__cause__ or err}), expected a {path.suffix[1:]} table") from err


def _validated(dataset: datasets.Dataset, source) -> datasets.Dataset:
    """Every row validated, as records_dataset of them: equal records give equal fingerprints
    (and so share the encoding cache) whatever the format they came in."""
    for column in COLUMNS:
        if column not in dataset.column_names:
            raise DataError(source, None, column, f"no such column, expected the columns {', '.join(COLUMNS)}")
    records = dataset.select_columns(list(COLUMNS)).to_list()
    for row, record in enumerate(records, start=1):
        if isinstance(record["label"], str) and record["label"].lower() in CSV_BOOLS:
            # CSV has no bool type; pandas parses True/False only when the whole column does, so a
            # column with one bad cell arrives as text, and that cell is what should be reported.
            record["label"] = CSV_BOOLS[record["label"].lower()]
        validate_record(record, source, f"row {row}")
    return records_dataset(records)


def _str(path) -> str | None:
    return None if path is None else str(path)


def encoding_fingerprint(dataset: datasets.Dataset, tokenizer, config: EncodeConfig) -> str:
    """What an encoded dataset depends on: the data, the tokenizer, the config and the encoding
    code. Passed to map as `new_fingerprint`, since the tokenizer inside an Encoder does not hash
    the same way twice."""
    tokenizer_state = (tokenizer.name_or_path, len(tokenizer), tokenizer.chat_template)
    return Hasher.hash((dataset._fingerprint, tokenizer_state, config, inspect.getsource(encode_module)))


def encode_dataset(dataset: datasets.Dataset, tokenizer, config: EncodeConfig = EncodeConfig(),
                   cache_dir: str | Path | None = None, num_proc: int | None = None) -> datasets.Dataset:
    """`input_ids`, `attention_mask`, `labels` and `truncated` per record, via Dataset.map; read
    back from the cache when the same data was encoded the same way before."""
    encoder = Encoder(tokenizer, config)
    fingerprint = encoding_fingerprint(dataset, tokenizer, config)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = folder / "fraudft-encoded"
    folder.mkdir(parents=True, exist_ok=True)
    return dataset.map(
        encoder.encode,
        remove_columns=dataset.column_names,
        new_fingerprint=fingerprint,
        cache_file_name=str(folder / f"{fingerprint}.arrow"),
        load_from_cache_file=True,
        num_proc=num_proc,
        desc="encoding",
    )
