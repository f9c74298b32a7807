"""`pytest bench --extra-test NAME=PATH`: every arm also scored on the set (extra:NAME), the table shows
it beside the in-domain split; a bad flag stops the session with one line."""

import subprocess
import sys
from pathlib import Path

import pytest

from fraudft.data.records import write_jsonl
from fraudft.results.store import git_state, load_records
from fraudft.synthetic import SynthConfig, generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    for name, n, seed in (("train", 16, 1), ("eval", 8, 2), ("test", 12, 3)):
        write_jsonl(generate(SynthConfig(n=n, seed=seed)), folder / "split" / f"{name}.jsonl")
    write_jsonl(generate(SynthConfig(n=10, seed=9)), folder / "other.jsonl")
    return folder


def _bench(*args, results: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "bench", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", "test_arm",
               "--arms", "untuned", "--results-dir", str(results), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})


def test_the_bench_scores_every_arm_on_the_extra_set(data, tmp_path):
    done = _bench("--data-dir", data / "split", "--extra-test", f"other={data / 'other.jsonl'}", results=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    [record] = load_records(tmp_path, git_state()["commit"])
    assert [e.name for e in record.evaluations][-1] == "extra:other" and len(record.evaluation("extra:other").labels) == 10
    assert "### Out of distribution" in done.stdout and "| untuned | other | 10 (" in done.stdout


def test_a_bad_extra_test_stops_the_bench_with_one_line(data, tmp_path):
    done = _bench("--data-dir", data / "split", "--extra-test", "other", results=tmp_path)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR and "--extra-test: got 'other', expected NAME=PATH" in done.stdout + done.stderr
