"""write_json_atomic: writers racing on one record file never corrupt it (a reader sees one whole
version or the other), and leave no temporary files behind."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from fraudft.results.store import write_json_atomic

WRITES = 150


def _write_many(path: str, writer: int) -> None:
    record = {"writer": writer, "predictions": [writer] * 20_000}  # ~60 kB: many write() calls each
    for _ in range(WRITES):
        write_json_atomic(record, Path(path))


def test_two_writer_processes_never_corrupt_a_record(tmp_path):
    path = tmp_path / "commit" / "recipe" / "reference-seed0.json"
    write_json_atomic({"writer": -1, "predictions": []}, path)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(path), w)) for w in (0, 1)]
    for process in writers:
        process.start()
    seen = set()
    while any(p.is_alive() for p in writers):
        record = json.loads(path.read_text(encoding="utf-8"))  # raises on a torn or partial file
        assert record["predictions"] in ([], [record["writer"]] * 20_000)
        seen.add(record["writer"])
    for process in writers:
        process.join()
        assert process.exitcode == 0
    assert json.loads(path.read_text())["writer"] in (0, 1)
    assert seen & {0, 1}, "the reader never saw a writer's version"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left over
