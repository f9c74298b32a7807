"""Records as Hugging Face `datasets.Dataset`s: loaded from any file format of `fraudft.data.formats`
(JSONL, JSON, alpaca and ShareGPT arrays, CSV, Parquet) or the hub, validated row by row, and encoded for
training with `Dataset.map`, cached on disk across runs.

    from fraudft.modeling.hf_dataset import load_records, encode_dataset
    records = load_records("data/train.jsonl")          # or .json, .csv, .parquet, "owner/name:train"
    encoded = encode_dataset(records, tokenizer, EncodeConfig(max_length=256))
    encoded.cache_files                                  # the Arrow file a second run reads back

Files are read by `fraudft.data.formats` (the readers the CLI uses), so bad data fails the same way
whatever the format: `FILE:LINE: field` for JSONL, `FILE: item N: field` for arrays, `FILE: row N:
field` for tables and hub rows (N counting data rows from 1: a dialogue's newlines make CSV line
numbers useless). A dataset holds the four reference columns (and `reason` where a record has one); extra fields are dropped (they vary from
record to record, which an Arrow schema cannot hold; read them with `fraudft.data.records`).

Encoded datasets are cached in `$FRAUDFT_CACHE/datasets` (else the `datasets` cache) under a
fingerprint of the data, the tokenizer's whole state (encode.tokenizer_fingerprint: its serialised
backend, special tokens, settings and chat template, so a tokenizer folder edited in place encodes
again), the EncodeConfig (length limit and task format) and the encoding code itself, so a second run
with the same inputs does not tokenise again.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import datasets
from datasets.fingerprint import Hasher

from fraudft.core.cache import cache_dir
from fraudft.data import loading
from fraudft.data.formats.base import FORMATS, file_suffixes, parse_column_map
from fraudft.data.formats.hub import read_hub
from fraudft.modeling import encode as encode_module
from fraudft.modeling import taskformat as taskformat_module
from fraudft.modeling.encode import EncodeConfig, Encoder, tokenizer_fingerprint
from fraudft.data.records import REQUIRED_FIELDS

COLUMNS = tuple(REQUIRED_FIELDS)  # input, label, fraud_speaker, instruction


def default_cache_dir() -> Path:
    """$FRAUDFT_CACHE/datasets, else the `datasets` library's own cache folder."""
    if "FRAUDFT_CACHE" in os.environ:
        return cache_dir("datasets")
    return Path(datasets.config.HF_DATASETS_CACHE)


def records_dataset(records: list[dict]) -> datasets.Dataset:
    """Validated record dicts as a Dataset of the reference columns, and `reason` where any record
    has one (None in the others; the three-field answer trains it), in memory; its fingerprint is a
    hash of the data, so equal records give equal fingerprints across runs."""
    columns = COLUMNS + (("reason",) if any("reason" in r for r in records) else ())
    return datasets.Dataset.from_dict({column: [r.get(column) for r in records] for column in columns})


def load_records(source: str | Path, cache_dir: str | Path | None = None, format: str | None = None,
                 column_map: dict | str | None = None) -> datasets.Dataset:
    """Load and validate records from a file (any format of fraudft.data.formats, detected or `format`)
    or a hub id `owner/name:split`, as records_dataset of them."""
    path = Path(source)
    if format not in (None, "hub") or path.suffix.lower() in file_suffixes() or path.exists():
        return records_dataset(loading.load_records(path, format, column_map))
    return load_hub_records(str(source), cache_dir, column_map)


def load_hub_records(source: str, cache_dir: str | Path | None = None,
                     column_map: dict | str | None = None) -> datasets.Dataset:
    """A split of a hub dataset (`owner/name:split`), validated row by row as a typed table (the
    Parquet label rule: a bool or 0/1 integer column): the `hub` reader of fraudft.data.formats
    (fraudft.data.formats.hub), with the datasets cache in `cache_dir`."""
    column_map = parse_column_map(column_map) if isinstance(column_map, str) or column_map is None else column_map
    rows = read_hub(str(source), column_map, cache_dir)
    return records_dataset(loading.validated(rows, source, FORMATS["hub"]))


def encoding_fingerprint(dataset: datasets.Dataset, tokenizer, config: EncodeConfig) -> str:
    """What an encoded dataset depends on: the data, the tokenizer's state (tokenizer_fingerprint),
    the config with its task format and the encoding code. Passed to map as `new_fingerprint`, since
    the tokenizer inside an Encoder does not hash the same way twice."""
    return Hasher.hash((dataset._fingerprint, tokenizer_fingerprint(tokenizer), config, config.format.to_dict(),
                        inspect.getsource(encode_module), inspect.getsource(taskformat_module)))


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
