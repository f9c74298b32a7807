"""Issue 19's "Done when" for the readers: `fraudft data validate`, `audit`, `train` and `evaluate` on
alpaca arrays of the reference's published form, on CSV, on Parquet (and on ShareGPT) give what the
equivalent JSONL gives: the same validated records, the same audit findings (their places named
"row N" / "item N" instead of "line N"), the same train losses and the same evaluate results.
The bench's `--data-dir` loader (fraudft.experiment.splits.load_splits) gives the same splits from
a folder of each file type."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from fraudft import cli
from fraudft.experiment.splits import SPLIT_NAMES, load_splits
from fraudft.data.loading import load_records
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")
PLACES = {".jsonl": "line", ".json": "item", ".csv": "row", ".parquet": "row"}


def published_alpaca(records) -> list[dict]:
    """The reference's published form: input, output (is_fraud alone, as JSON text), instruction."""
    return [{"input": r["input"], "output": json.dumps({"is_fraud": r["label"]}), "instruction": r["instruction"]}
            for r in records]


def sharegpt(records) -> list[dict]:
    return [{"conversations": [{"from": "human", "value": r["instruction"] + r["input"]},
                               {"from": "gpt", "value": json.dumps({"is_fraud": r["label"]})}]} for r in records]


def write(records, path: Path, form: str) -> Path:
    """`records` as `form`: jsonl, alpaca (a JSON array in a .jsonl file, as the reference
    publishes it), sharegpt (.json), csv or parquet."""
    if form == "jsonl":
        write_jsonl(records, path)
    elif form in ("alpaca", "sharegpt"):
        items = published_alpaca(records) if form == "alpaca" else sharegpt(records)
        path.write_text(json.dumps(items, ensure_ascii=False, indent=4), encoding="utf-8")
    elif form == "csv":
        pd.DataFrame(records).to_csv(path, index=False)
    else:
        pd.DataFrame(records).to_parquet(path)
    return path


SUFFIX = {"jsonl": ".jsonl", "alpaca": ".jsonl", "sharegpt": ".json", "csv": ".csv", "parquet": ".parquet"}
PLACE = {"jsonl": "line", "alpaca": "item", "sharegpt": "item", "csv": "row", "parquet": "row"}


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def no_place(findings: list[dict]) -> list[dict]:
    """Findings with the place words taken out: figures without place/places, verdicts saying "line"."""
    out = []
    for f in findings:
        figures = {k: v for k, v in f["figures"].items() if k not in ("place", "places")}
        out.append({**f, "figures": figures, "verdict": re.sub(r" (row|item) (\d)", r" line \2", f["verdict"])})
    return out


def everything(folder: Path, form: str, splits: dict[str, list[dict]]) -> dict:
    """What each command gives on `splits` written as `form` in `folder`."""
    folder.mkdir()
    files = {name: write(records, folder / f"{name}{SUFFIX[form]}", form) for name, records in splits.items()}
    got = {}
    rc, out, err = run("data", "validate", *files.values())
    assert (rc, err) == (0, "") and out == "".join(f"{p}: ok, {len(splits[n])} records\n" for n, p in files.items())
    got["records"] = {name: load_records(path) for name, path in files.items()}  # what validate validated
    rc, out, err = run("audit", files["train"], files["test"], "--json", "--fail-on", "never", "--tokenizer", "none")
    assert rc == 0, err
    got["audit"] = no_place(json.loads(out)["findings"])
    rc, got["audit_text"], err = run("audit", files["train"], files["test"], "--fail-on", "never", "--tokenizer", "none")
    out_dir = folder / "run"
    rc, out, err = run("train", "--model", "tiny", "--train", files["train"], "--eval", files["test"], "--out", out_dir,
                       "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--eval-steps", "1", "--patience", "0",
                       "--max-length", "128", "--quiet")
    assert rc == 0, err
    history = json.loads((out_dir / "run.json").read_text())["train_info"]["log_history"]
    got["losses"] = [(e["step"], e.get("loss"), e.get("eval_loss")) for e in history if "loss" in e or "eval_loss" in e]
    rc, out, err = run("evaluate", "--model", "tiny", "--adapter", out_dir, "--data", files["test"], "--max-length", "128",
                       "--json")
    assert rc == 0, err
    got["evaluate"] = {k: v for k, v in json.loads(out).items() if k != "peak_memory" and "seconds" not in k and "per_s" not in k}
    return got


@pytest.fixture(scope="module")
def splits():
    """Synthetic train and test; fraud_speaker blank (the published alpaca answers hold is_fraud alone),
    and test's 3rd record a copy of train's 1st with the other label (a label conflict to report)."""
    records = [{**r, "fraud_speaker": ""} for r in generate(SynthConfig(n=10, seed=31))]
    train, test = records[:6], records[6:]
    test.insert(2, {**train[0], "label": not train[0]["label"]})
    return {"train": train, "test": test}


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory, splits, one_torch_thread):
    return everything(tmp_path_factory.mktemp("same") / "jsonl", "jsonl", splits)


@pytest.mark.parametrize("form", ["alpaca", "csv", "parquet", "sharegpt"])
def test_every_command_gives_on_each_format_what_jsonl_gives(tmp_path, splits, jsonl, form):
    other = everything(tmp_path / form, form, splits)
    assert other["records"] == jsonl["records"] == splits
    assert other["audit"] == jsonl["audit"] and len(jsonl["audit"]) > 10
    assert len(jsonl["losses"]) >= 2 and other["losses"] == jsonl["losses"]
    assert other["evaluate"] == jsonl["evaluate"] and other["evaluate"]["metrics"]["n"] == len(splits["test"])
    # The places are named as the format names them, with the same numbers.
    fraud = [str(i) for i, r in enumerate(splits["train"], start=1) if r["label"]]
    conflict = f"train {{}} 1 ({'fraud' if splits['train'][0]['label'] else 'not fraud'})"
    for got, place in ((jsonl, "line"), (other, PLACE[form])):
        assert f"true without fraud speaker: {len(fraud)} at {place}(s) {', '.join(fraud)}" in got["audit_text"]
        assert conflict.format(place) + f" = test {place} 3" in got["audit_text"]


@pytest.mark.filterwarnings("ignore:.*empty input")
def test_a_slice_of_the_published_alpaca_file_gives_what_its_jsonl_gives(tmp_path, shared_eval_path):
    """The first 24 items of ../shared/data/eval0819_alpaca.jsonl against the same lines of eval0819.jsonl
    (fraud_speaker blank: the published answers hold is_fraud alone)."""
    alpaca_path = shared_eval_path.with_name("eval0819_alpaca.jsonl")
    if not alpaca_path.exists():
        pytest.skip("../shared/data/eval0819_alpaca.jsonl is absent")
    items = json.loads(alpaca_path.read_text(encoding="utf-8"))[:24]
    lines = shared_eval_path.read_text(encoding="utf-8").splitlines()[:24]
    records = [{**json.loads(line), "fraud_speaker": ""} for line in lines]
    folder = tmp_path / "published"
    folder.mkdir()
    for name, part in (("train", slice(0, 16)), ("test", slice(16, 24))):
        (folder / f"{name}.jsonl").write_text(json.dumps(items[part], ensure_ascii=False, indent=4), encoding="utf-8")
    splits = {"train": records[:16], "test": records[16:]}
    jsonl = everything(tmp_path / "jsonl", "jsonl", splits)
    alpaca = everything(tmp_path / "alpaca", "alpaca", splits)
    assert alpaca["records"] == jsonl["records"] == {n: load_records(folder / f"{n}.jsonl") for n in splits}
    assert alpaca["audit"] == jsonl["audit"] and alpaca["losses"] == jsonl["losses"]
    assert alpaca["evaluate"] == jsonl["evaluate"]


@pytest.mark.parametrize("form", ["alpaca", "csv", "parquet", "sharegpt"])
def test_the_bench_data_dir_loads_the_same_splits_from_each_file_type(tmp_path, splits, form):
    parts = {"train": splits["train"], "eval": splits["test"][:3], "test": splits["test"]}
    folders = {}
    for kind in ("jsonl", form):
        folders[kind] = tmp_path / kind
        folders[kind].mkdir()
        for name in SPLIT_NAMES:
            write(parts[name], folders[kind] / f"{name}{'.json' if kind in ('alpaca', 'sharegpt') else SUFFIX[kind]}", kind)
    jsonl, other = load_splits(folders["jsonl"], (0, 0, 0)), load_splits(folders[form], (0, 0, 0))
    assert [getattr(other, n) for n in SPLIT_NAMES] == [getattr(jsonl, n) for n in SPLIT_NAMES] == [parts[n] for n in SPLIT_NAMES]
    assert other.fingerprints == jsonl.fingerprints
    assert other.places == {n: PLACE[form] for n in SPLIT_NAMES} and jsonl.places == {n: "line" for n in SPLIT_NAMES}
    # The audit the bench stores names the label conflict by the format's places.
    assert any(f"test {PLACE[form]} 3" in finding for finding in other.audit["findings"])
    assert [re.sub(r" (row|item) (\d)", r" line \2", f) for f in other.audit["findings"]] == jsonl.audit["findings"]
