"""`fraudft evaluate`'s summary: the dialogues cut to fit --max-length, and in generate mode each
reply with its parse status (issue 16, items 3 and 5). The tiny preset, untrained: no adapter."""

from __future__ import annotations

import json

import pytest

from fraudft.modeling.encode import Encoder
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MAX_LENGTH = 160
CUT = "cut at max_new_tokens (no stop token)"


@pytest.fixture(scope="module")
def data(tmp_path_factory, tokenizer):
    """Four records, and how many of them need more than MAX_LENGTH less the answer (some, not all)."""
    records = generate(SynthConfig(n=4, seed=22))
    encoder = Encoder(tokenizer)
    budget = MAX_LENGTH - len(encoder.target_ids[True])
    longer = sum(len(encoder.prompt_ids(r)[0]) > budget for r in records)
    assert 0 < longer < len(records)
    path = tmp_path_factory.mktemp("evaluate") / "eval.jsonl"
    write_jsonl(records, path)
    return path, longer


def test_the_summary_counts_the_dialogues_cut_to_fit(run_cli, data):
    path, longer = data
    rc, out, err = run_cli("evaluate", "--model", "tiny", "--data", path, "--max-length", MAX_LENGTH, "--json")
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["truncated"] == longer and summary["tokens_removed"] >= longer
    assert "replies" not in summary  # score mode has none
    from fraudft.metrics.registry import METRICS

    assert list(summary["all_metrics"]) == list(METRICS)  # every registered metric, the decision ones too
    assert all(v["value"] is not None or v["undefined"] for v in summary["all_metrics"].values())
    assert summary["all_metrics"]["f1"]["value"] == pytest.approx(summary["metrics"]["f1"]) or \
        summary["all_metrics"]["f1"]["undefined"]
    metrics = summary["metrics"]  # the registry's figures: an undefined one null with its reason, never 0
    for name in METRICS:
        assert (metrics[name] is None) == (name in metrics["undefined"]), name
        assert summary["all_metrics"][name] == {"value": metrics[name], "undefined": metrics["undefined"].get(name)}

    rc, out, err = run_cli("evaluate", "--model", "tiny", "--data", path, "--max-length", MAX_LENGTH)
    assert rc == 0, err
    assert (f"  truncated to --max-length {MAX_LENGTH}: {longer} of 4 dialogues, "
            f"{summary['tokens_removed']} tokens removed\n") in out
    for name, why in metrics["undefined"].items():
        assert f"{name} — ({why})" in out


def test_generate_mode_shows_each_reply_and_its_status(run_cli, data):
    path, longer = data
    argv = ("evaluate", "--model", "tiny", "--data", path, "--max-length", MAX_LENGTH, "--mode", "generate",
            "--max-new-tokens", "2")
    rc, out, err = run_cli(*argv, "--json")
    assert rc == 0, err
    summary = json.loads(out)
    replies = summary["replies"]
    assert len(replies) == 4 and all(isinstance(r["reply"], str) for r in replies)
    # Two tokens of an untrained model are no answer: every reply is invalid, with its reason.
    assert all(r["status"].startswith("invalid: ") for r in replies)
    assert summary["metrics"]["invalid"] == 4 and summary["truncated"] == longer
    assert summary["cut"] == sum(r["status"].endswith(CUT) for r in replies)
    assert summary["all_metrics"]["roc_auc"] == {"value": None, "undefined": "no scores (generate mode)"}

    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("  replies (")]
    assert line.startswith(f"  replies ({summary['cut']} cut at --max-new-tokens 2; --json lists each): ")
    for status in {r["status"] for r in replies}:
        assert f"{sum(r['status'] == status for r in replies)} {status}" in line


PERTURBS = {"none": (), "once": ("neutralize_speakers",), "twice": ("neutralize_speakers", "append_transfer_request")}


@pytest.mark.parametrize("extra_test", [False, True], ids=["no-extra", "extra-test"])
@pytest.mark.parametrize("perturb", list(PERTURBS))
@pytest.mark.parametrize("mode", ["score", "generate"])
def test_every_json_output_is_strict_json_with_the_main_metrics(run_cli, data, mode, perturb, extra_test):
    """Issue 32, item 2: --json serialises in every combination of mode, --perturb (none, once, twice) and
    --extra-test (numpy booleans in the bootstrap figures ended in a TypeError), the data's own figures are
    there in every mode, and each --perturb set is scored and reported in the order given."""
    from fraudft.core.jsonio import loads_strict
    from fraudft.metrics.registry import METRICS

    path, _ = data
    argv = ["evaluate", "--model", "tiny", "--data", path, "--max-length", MAX_LENGTH, "--mode", mode,
            "--max-new-tokens", "2", "--n-resamples", 100]
    for name in PERTURBS[perturb]:
        argv += ["--perturb", name]
    if extra_test:
        argv += ["--extra-test", f"again={path}"]
    rc, out, err = run_cli(*argv, "--json")
    assert rc == 0, err
    summary = loads_strict(out)  # NaN or Infinity would raise: strict JSON only
    assert summary["mode"] == mode and summary["metrics"]["n"] == 4 and list(summary["all_metrics"]) == list(METRICS)
    assert ("perturbations" in summary) == bool(PERTURBS[perturb])
    if PERTURBS[perturb]:
        assert [p["perturb"] for p in summary["perturbations"]] == list(PERTURBS[perturb])
        for p in summary["perturbations"]:
            assert p["records"] == 4 and p["perturbed_metrics"]["n"] == 4
            assert p["change"]["records_changed"] + p["change"]["records_unchanged"] == 4
            assert isinstance(p["mcc_delta"]["significant"], bool) and 0 <= p["flip_rate"]["value"] <= 1
    assert ("extra_tests" in summary) == extra_test
    if extra_test:  # the same file again: the same figures
        assert summary["extra_tests"]["again"]["metrics"]["tn"] == summary["metrics"]["tn"]

    rc, text, err = run_cli(*argv)
    assert rc == 0, err
    m = summary["metrics"]
    assert f"{path}: 4 records, mode {mode}, " in text  # the main metrics, whatever else is asked
    assert f"  tn/fp/fn/tp {m['tn']}/{m['fp']}/{m['fn']}/{m['tp']}  " in text
    assert [line.split(" under ")[1].split(":")[0] for line in text.splitlines() if " under " in line] == \
        list(PERTURBS[perturb])
    assert ("extra:again" in text) == extra_test


def test_the_same_perturb_twice_is_one_line(run_cli, data):
    path, _ = data
    rc, out, err = run_cli("evaluate", "--model", "tiny", "--data", path, "--perturb", "neutralize_speakers",
                           "--perturb", "neutralize_speakers")
    assert rc == 2 and "--perturb: neutralize_speakers given twice" in err and len(err.strip().splitlines()) == 1
