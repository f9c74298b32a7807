"""`fraudft evaluate --extra-test NAME=PATH` and `--perturb append_transfer_request` (tiny, no adapter);
`run-arm`/`grid` refuse a bad --extra-test with one line before anything trains."""

from __future__ import annotations

import json

import pytest

from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extra")
    records = generate(SynthConfig(n=8, seed=31))
    write_jsonl(records, folder / "test.jsonl")
    write_jsonl([r for r in records if not r["label"]], folder / "clean.jsonl")  # one class: not fraud only
    return folder


def test_an_extra_set_is_scored_and_a_one_class_set_names_what_it_cannot_define(run_cli, data):
    argv = ("evaluate", "--model", "tiny", "--data", data / "test.jsonl", "--max-length", 128,
            "--extra-test", f"clean={data / 'clean.jsonl'}")
    rc, out, err = run_cli(*argv, "--json")
    assert rc == 0, err
    extra = json.loads(out)["extra_tests"]["clean"]
    assert extra["n"] == 4 and extra["fraud"] == 0 and extra["examples_per_s"] > 0
    assert extra["all_metrics"]["mcc"]["value"] is None and extra["all_metrics"]["mcc"]["undefined"]
    assert extra["all_metrics"]["roc_auc"]["value"] is None
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    line = next(line for line in out.splitlines() if line.startswith("  tn/fp/fn/tp") and "mcc —" in line)
    assert "extra:clean" in out and "mcc — (" in line and "recall — (" in line


@pytest.mark.parametrize("command", [
    ("evaluate", "--model", "tiny", "--data", "{data}/test.jsonl"),
    ("run-arm", "--recipe", "smoke", "--arm", "reference"),
    ("grid", "--recipe", "smoke", "--arms", "reference"),
])
@pytest.mark.parametrize("spec, message", [("clean", "expected NAME=PATH"), ("x=/no/such.jsonl", "no such file")])
def test_a_bad_extra_test_is_one_line(run_cli, data, command, spec, message):
    rc, out, err = run_cli(*(c.format(data=data) for c in command), "--extra-test", spec)
    assert rc == 2 and "--extra-test" in err and message in err and len(err.strip().splitlines()) == 1


def test_the_directional_set_reports_the_share_whose_p_fraud_fell(run_cli, data):
    argv = ("evaluate", "--model", "tiny", "--data", data / "test.jsonl", "--max-length", 160,
            "--perturb", "append_transfer_request", "--n-resamples", 200)
    rc, out, err = run_cli(*argv, "--json")
    assert rc == 0, err
    (summary,) = json.loads(out)["perturbations"]
    directional = summary["directional"]
    assert directional["changed"] == summary["change"]["records_changed"] <= 4  # non-fraud records only
    assert 0 <= directional["value"] <= 1 and directional["mean_delta_p"] is not None
    assert summary["change"]["unchanged_why"]["a fraud record (the set changes non-fraud dialogues only)"] == 4
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    assert "directional: share of changed records whose P(fraud) fell" in out
