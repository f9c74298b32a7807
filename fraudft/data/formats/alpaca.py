"""The `alpaca` reader: LLaMA-Factory's alpaca array (instruction, input, output: the answer as
JSON text); the label is output's is_fraud. Errors name FILE: item N."""

from __future__ import annotations

from pathlib import Path

from fraudft.core.errors import DataError
from fraudft.data.formats.base import ALPACA_FIELDS, RawRecords, answer_fields, answer_items, parse_answer, reader

@reader("alpaca", suffixes=(".json", ".jsonl"), places="item", labels="output's is_fraud, a JSON bool (true or false)")
def _read_alpaca(path: Path, column_map: dict) -> RawRecords:
    return answer_items(path, column_map, _from_alpaca)


def _from_alpaca(item: dict, path: Path, place: str) -> dict:
    for field in ALPACA_FIELDS:
        if field not in item:
            raise DataError(path, place, field, "missing, expected an alpaca item (instruction, input, output)")
    record = {key: value for key, value in item.items() if key != "output"}
    record.update(answer_fields(parse_answer(item["output"], path, place, "output")))
    return record

