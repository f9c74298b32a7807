"""`fraudft evaluate --perturb NAME`: one model on the data and on its counterfactual (tiny, no adapter)."""

from __future__ import annotations

import json

import pytest

from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("perturb") / "test.jsonl"
    write_jsonl(generate(SynthConfig(n=6, seed=22)), path)
    return path


def test_perturb_reports_flip_rate_delta_p_and_mcc_delta(run_cli, data):
    argv = ("evaluate", "--model", "tiny", "--data", data, "--max-length", 128, "--perturb", "neutralize_speakers",
            "--n-resamples", 200)
    rc, out, err = run_cli(*argv, "--json")
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["metrics"]["n"] == 6  # the data's own figures, and the set's beside them
    (summary,) = summary["perturbations"]
    assert summary["perturb"] == "neutralize_speakers" and summary["records"] == 6
    assert summary["change"]["records_changed"] + summary["change"]["records_unchanged"] == 6
    flip = summary["flip_rate"]
    assert 0 <= flip["value"] <= 1 and flip["n"] == 6 and summary["mean_delta_p"] is not None
    assert "delta" in summary["mcc_delta"]
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    assert "under neutralize_speakers:" in out and "flip rate " in out and "mean ΔP(fraud) " in out


def test_bad_perturb_is_one_line(run_cli, data):
    rc, out, err = run_cli("evaluate", "--model", "tiny", "--data", data, "--perturb", "nope")
    assert rc != 0 and "--perturb: got 'nope'" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run_cli("evaluate", "--model", "tiny", "--data", data, "--perturb", "mask_top_ngrams")
    assert rc != 0 and "--train" in err
