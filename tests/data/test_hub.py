"""fraudft.data.formats.hub: a hub dataset split `OWNER/NAME:SPLIT` read through the readers' registry with the
Parquet label rule. No network: the dataset is a local folder of that relative name, which
`datasets.load_dataset(OWNER/NAME, split=SPLIT)` (the call a hub id takes) finds before the hub."""

from __future__ import annotations

import datasets
import pandas as pd
import pytest

from fraudft import cli
from fraudft.core.errors import DataError, UsageError
from fraudft.modeling import hf_dataset
from fraudft.data.loading import detect_format, load_records

HUB_ID = "someone/fraud-dialogues"


@pytest.fixture
def records(make_record):
    return [make_record(input="发言人1: 我是客服，请转账。", label=True, fraud_speaker="发言人1"),
            make_record(input="发言人1: 明天见。", label=False)]


@pytest.fixture
def hub_folder(tmp_path, monkeypatch):
    """`write(split, rows)`: a hub-layout dataset folder someone/fraud-dialogues/data/SPLIT-*.parquet
    under the working directory; the hub is off (HF_HUB_OFFLINE), so nothing is fetched."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets-cache"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets-cache")

    def write(split: str, rows: list[dict]) -> None:
        folder = tmp_path / HUB_ID / "data"
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_parquet(folder / f"{split}-00000-of-00001.parquet")

    return write


def test_a_hub_id_is_detected_and_gives_the_records(hub_folder, records):
    hub_folder("train", records)
    assert detect_format(f"{HUB_ID}:train") == "hub"
    assert load_records(f"{HUB_ID}:train") == records
    assert hf_dataset.load_records(f"{HUB_ID}:train").to_list() == records  # the datasets view, same reader


def test_a_0_1_label_column_is_read(hub_folder, records):
    hub_folder("train", [{**r, "label": int(r["label"])} for r in records])
    assert load_records(f"{HUB_ID}:train", format="hub") == records


def test_a_text_label_column_is_refused_naming_the_row(hub_folder, records):
    hub_folder("eval", [{**r, "label": str(r["label"]).upper()} for r in records])
    with pytest.raises(DataError, match=rf"^{HUB_ID}:eval: row 1: label: got str \"TRUE\", expected a boolean column"):
        load_records(f"{HUB_ID}:eval")


def test_a_column_map_renames_hub_columns_and_a_missing_one_is_named(hub_folder, records):
    hub_folder("train", [{("text" if k == "input" else k): v for k, v in r.items()} for r in records])
    assert load_records(f"{HUB_ID}:train", column_map="input=text") == records
    with pytest.raises(DataError, match=rf"^{HUB_ID}:train: dialogue: no such column \(--column-map input=dialogue\)"):
        load_records(f"{HUB_ID}:train", column_map="input=dialogue")


def test_a_missing_split_or_dataset_is_a_usage_error_naming_the_source(hub_folder, records):
    hub_folder("train", records)
    with pytest.raises(UsageError, match=rf"^{HUB_ID}:test: data: cannot be loaded from the hub \(Unknown split"):
        load_records(f"{HUB_ID}:test")
    with pytest.raises(UsageError, match=r"^nobody/absent:train: data: cannot be loaded from the hub \(Couldn't reach"):
        load_records("nobody/absent:train")


def test_the_cli_reads_a_hub_split(hub_folder, records, capsys):
    hub_folder("test", records)
    assert cli.main(["data", "validate", f"{HUB_ID}:test"]) == 0
    assert capsys.readouterr().out == f"{HUB_ID}:test: ok, 2 records\n"
