"""fraudft.modeling.hf_dataset: records loaded with `datasets` from JSONL, CSV, Parquet and the hub,
validated row by row, and encoded with Dataset.map behind an on-disk cache."""

from __future__ import annotations

import re

import datasets
import pandas as pd
import pytest

from fraudft.core.errors import DataError, UsageError
from fraudft.modeling import hf_dataset
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.modeling.hf_dataset import (
    COLUMNS,
    encode_dataset,
    load_records,
    records_dataset,
)
from fraudft.data.formats.hub import parse_hub_id


@pytest.fixture
def records(make_record):
    return [
        make_record(input="发言人1: 您好，我是银行客服。\n发言人2: 什么事？", label=True, fraud_speaker="发言人1"),
        make_record(input="发言人1: 明天开会吗？\n发言人2: 开。", label=False),
        make_record(input="发言人1: 喂？", label=False),
    ]


def reference_columns(records):
    return [{column: r[column] for column in COLUMNS} for r in records]


# --- loading ----------------------------------------------------------------------------------


def test_jsonl_is_validated_by_load_jsonl_and_keeps_the_reference_columns(write_jsonl_lines, records):
    # ...and `reason` where a record has one (None in the others): the three-field answer trains it
    path = write_jsonl_lines([{**records[0], "reason": "要求转账", "extra": [1]}, *records[1:]])
    dataset = load_records(path)
    assert isinstance(dataset, datasets.Dataset)
    assert dataset.column_names == [*COLUMNS, "reason"]
    reasons = ["要求转账"] + [None] * (len(records) - 1)
    assert dataset.to_list() == [{**r, "reason": why} for r, why in zip(reference_columns(records), reasons)]
    assert load_records(write_jsonl_lines(records)).column_names == list(COLUMNS)


def test_jsonl_errors_keep_their_line(write_jsonl_lines, records):
    path = write_jsonl_lines([records[0], {**records[1], "label": "false"}])
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: label: got str \"false\", expected a JSON bool"):
        load_records(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tabular_files_load_the_same_records(tmp_path, records, suffix):
    path = tmp_path / f"data{suffix}"
    frame = pd.DataFrame(records)
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    dataset = load_records(path, cache_dir=tmp_path / "cache")
    assert dataset.to_list() == reference_columns(records)  # empty fraud_speaker stays "", newlines kept


def test_a_bad_csv_cell_is_named_by_its_row(tmp_path, records):
    path = tmp_path / "data.csv"
    pd.DataFrame([*records[:2], {**records[2], "label": "maybe"}]).to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: row 3: label: got str \"maybe\", expected a text cell: exactly true, false, 1 or 0"):
        load_records(path, cache_dir=tmp_path / "cache")


def test_a_bad_parquet_cell_is_named_by_its_row(tmp_path, records):
    path = tmp_path / "data.parquet"
    pd.DataFrame([*records[:2], {**records[2], "fraud_speaker": None}]).to_parquet(path)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: row 3: fraud_speaker: got NoneType null, expected a JSON string"):
        load_records(path, cache_dir=tmp_path / "cache")


def test_a_parquet_text_label_is_refused_not_coerced(tmp_path, records):
    path = tmp_path / "data.parquet"
    pd.DataFrame([{**r, "label": str(r["label"]).upper()} for r in records]).to_parquet(path)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: row 1: label: got str \"TRUE\", expected a boolean column"):
        load_records(path, cache_dir=tmp_path / "cache")


def test_an_alpaca_array_loads_through_the_same_readers(tmp_path, write_jsonl_lines, records):
    import json

    items = [{"instruction": r["instruction"], "input": r["input"], "output": json.dumps({"is_fraud": r["label"]}),
              } for r in records]
    (tmp_path / "data.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    from_alpaca = load_records(tmp_path / "data.json")
    assert from_alpaca.to_list() == [{**r, "fraud_speaker": ""} for r in reference_columns(records)]


def test_equal_records_share_a_fingerprint_whatever_their_format(tmp_path, write_jsonl_lines, records):
    pd.DataFrame(records).to_parquet(tmp_path / "data.parquet")
    from_parquet = load_records(tmp_path / "data.parquet", cache_dir=tmp_path / "cache")
    assert from_parquet._fingerprint == load_records(write_jsonl_lines(records))._fingerprint


def test_a_missing_column_is_named(tmp_path, records):
    path = tmp_path / "data.parquet"
    pd.DataFrame(records).drop(columns=["instruction"]).to_parquet(path)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: instruction: no such column, expected the columns"):
        load_records(path, cache_dir=tmp_path / "cache")


def test_a_missing_file_with_a_known_suffix_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r": file: cannot be read"):
        load_records(tmp_path / "absent.csv", cache_dir=tmp_path / "cache")


def test_hub_ids_are_parsed():
    assert parse_hub_id("someone/fraud-dialogues:train") == ("someone/fraud-dialogues", "train")
    assert parse_hub_id("org.x/name_2:test.v1") == ("org.x/name_2", "test.v1")


@pytest.mark.parametrize("source", ["someone/fraud-dialogues", "fraud-dialogues:train", "a/b/c:train", "nothing"])
def test_a_source_that_is_neither_a_file_nor_a_hub_id_is_a_usage_error(source):
    with pytest.raises(UsageError, match=r"expected an existing .jsonl, .json, .csv or .parquet file \(or --format\) or a hub dataset as OWNER/NAME:SPLIT"):
        load_records(source)


def test_an_unreachable_hub_dataset_is_a_usage_error(monkeypatch, tmp_path):
    requested = []

    def offline(repo, split, cache_dir):
        requested.append((repo, split))
        raise ConnectionError("Couldn't reach 'someone/fraud-dialogues' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(UsageError, match=r"^someone/fraud-dialogues:train: data: cannot be loaded from the hub \(Couldn't reach"):
        load_records("someone/fraud-dialogues:train", cache_dir=tmp_path)
    assert requested == [("someone/fraud-dialogues", "train")]


# --- encoding ---------------------------------------------------------------------------------


@pytest.fixture
def count_encodes(monkeypatch):
    calls = []
    original = Encoder.encode

    def counted(self, record):
        calls.append(record["input"])
        return original(self, record)

    monkeypatch.setattr(Encoder, "encode", counted)
    return calls


def test_encoding_matches_the_encoder(tokenizer, records, tmp_path):
    config = EncodeConfig(max_length=64)
    encoded = encode_dataset(records_dataset(records), tokenizer, config, cache_dir=tmp_path)
    assert encoded.column_names == ["input_ids", "attention_mask", "labels", "truncated"]
    assert encoded.to_list() == Encoder(tokenizer, config).encode_all(records)


def test_a_second_encoding_reads_the_cache(tokenizer, records, tmp_path, count_encodes):
    config = EncodeConfig(max_length=64)
    first = encode_dataset(records_dataset(records), tokenizer, config, cache_dir=tmp_path)
    assert len(count_encodes) == len(records)
    [cache_file] = first.cache_files
    assert cache_file["filename"].startswith(str(tmp_path / "fraudft-encoded"))
    second = encode_dataset(records_dataset(records), tokenizer, config, cache_dir=tmp_path)  # a fresh Dataset
    assert len(count_encodes) == len(records)  # nothing tokenised again
    assert second.cache_files == first.cache_files
    assert second.to_list() == first.to_list()


def test_other_data_or_config_encodes_again(tokenizer, records, tmp_path, count_encodes):
    encode_dataset(records_dataset(records), tokenizer, EncodeConfig(max_length=64), cache_dir=tmp_path)
    encode_dataset(records_dataset(records), tokenizer, EncodeConfig(max_length=65), cache_dir=tmp_path)
    encode_dataset(records_dataset(records[:2]), tokenizer, EncodeConfig(max_length=64), cache_dir=tmp_path)
    assert len(count_encodes) == 2 * len(records) + 2
    assert len(list((tmp_path / "fraudft-encoded").glob("*.arrow"))) == 3


def test_the_default_cache_follows_fraudft_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAUDFT_CACHE", str(tmp_path))
    assert hf_dataset.default_cache_dir() == tmp_path / "datasets"
    monkeypatch.delenv("FRAUDFT_CACHE")
    assert str(hf_dataset.default_cache_dir()) == str(datasets.config.HF_DATASETS_CACHE)


def _edit_tokenizer_json(folder, change):
    import json

    path = folder / "tokenizer.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    change(state)
    path.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")


def test_a_tokenizer_edited_in_place_encodes_again(tokenizer, records, tmp_path, count_encodes):
    """A tokenizer folder whose tokenizer.json is changed in place (same path, same size, same chat
    template) must not read back the encoding of the old tokenizer."""
    from transformers import AutoTokenizer

    folder = tmp_path / "tok"
    tokenizer.save_pretrained(folder)
    config = EncodeConfig(max_length=64)
    before = encode_dataset(records_dataset(records), AutoTokenizer.from_pretrained(folder), config,
                            cache_dir=tmp_path / "cache")
    assert len(count_encodes) == len(records)
    # A normalizer that rewrites the speaker tags: every record's ids change.
    _edit_tokenizer_json(folder, lambda state: state.update(
        normalizer={"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"String": "发言人"},
                                                            "content": "说话人"}]}))
    edited = AutoTokenizer.from_pretrained(folder)
    assert (edited.name_or_path, len(edited), edited.chat_template) == \
        (str(folder), len(tokenizer), tokenizer.chat_template)  # what the old key held
    after = encode_dataset(records_dataset(records), edited, config, cache_dir=tmp_path / "cache")
    assert len(count_encodes) == 2 * len(records)  # encoded again, not read from the cache
    assert after.cache_files != before.cache_files
    assert after.to_list() == Encoder(edited, config).encode_all(records)
    assert after["input_ids"] != before["input_ids"]


def test_a_special_token_changed_in_place_encodes_again(tokenizer, records, tmp_path, count_encodes):
    """tokenizer_config.json's pad token (the reference answer's terminator) edited in place."""
    import json

    from transformers import AutoTokenizer

    folder = tmp_path / "tok"
    tokenizer.save_pretrained(folder)
    config = EncodeConfig(max_length=64)
    before = encode_dataset(records_dataset(records), AutoTokenizer.from_pretrained(folder), config, cache_dir=tmp_path)
    path = folder / "tokenizer_config.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    assert settings["pad_token"] == "<|endoftext|>"
    path.write_text(json.dumps({**settings, "pad_token": "<|im_end|>"}), encoding="utf-8")
    edited = AutoTokenizer.from_pretrained(folder)
    assert len(edited) == len(tokenizer) and edited.chat_template == tokenizer.chat_template
    after = encode_dataset(records_dataset(records), edited, config, cache_dir=tmp_path)
    assert len(count_encodes) == 2 * len(records)
    assert after.to_list() == Encoder(edited, config).encode_all(records)
    assert after["labels"] != before["labels"]
