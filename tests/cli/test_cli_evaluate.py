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
