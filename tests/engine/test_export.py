"""`fraudft export` (issue 26, item 10): the adapter merged into its base, saved as a plain transformers
model with its tokenizer and task format, checked against the adapter; served by transformers alone."""

from __future__ import annotations

import json

import pytest

from fraudft import cli
from fraudft.data.records import iter_jsonl, write_jsonl
from fraudft.engine.evaluate import EvalConfig, score
from fraudft.engine.export import CHECK, SERVING, SERVING_EXAMPLE, TOLERANCE
from fraudft.modeling.models import load_model
from fraudft.modeling.taskformat import read_saved_format
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_TRAIN = ("--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--eval-steps", "2",
              "--patience", "0", "--max-length", "256", "--quiet")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step tiny adapter, its eval file (recorded in run.json) and a check file."""
    folder = tmp_path_factory.mktemp("export")
    train_path, eval_path, check_path = folder / "train.jsonl", folder / "eval.jsonl", folder / "check.jsonl"
    write_jsonl(generate(SynthConfig(n=8, seed=21)), train_path)
    write_jsonl(generate(SynthConfig(n=4, seed=22)), eval_path)
    write_jsonl(generate(SynthConfig(n=12, seed=23)), check_path)
    assert cli.main(["train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                     "--out", str(folder / "run"), *TINY_TRAIN]) == 0
    return folder / "run", eval_path, check_path


@pytest.fixture(scope="module")
def fp32_export(tiny_run, tmp_path_factory):
    run_dir, _, _ = tiny_run
    out = tmp_path_factory.mktemp("exported") / "fp32"
    assert cli.main(["export", "--adapter", str(run_dir), "--out", str(out)]) == 0
    return out


def test_an_fp32_export_scores_as_the_adapter(run_cli, tiny_run, fp32_export):
    _, eval_path, _ = tiny_run
    check = json.loads((fp32_export / CHECK).read_text(encoding="utf-8"))
    assert check["data"] == str(eval_path) and check["records"] == 4  # default: the run's eval file
    assert check["ok"] and check["max_abs_diff"] < TOLERANCE["fp32"] and check["flips"] == 0
    assert (fp32_export / "model.safetensors").is_file() and not (fp32_export / "adapter_config.json").exists()
    assert read_saved_format(fp32_export) is not None and (fp32_export / SERVING).is_file()


def test_evaluate_of_the_export_needs_no_adapter_and_predicts_alike(run_cli, tiny_run, fp32_export):
    run_dir, _, check_path = tiny_run
    results = {}
    for name, argv in (("adapter", ("--model", "tiny", "--adapter", run_dir)), ("export", ("--model", fp32_export))):
        rc, out, err = run_cli("evaluate", *argv, "--data", check_path, "--json")
        assert rc == 0, err
        results[name] = json.loads(out)
    assert results["export"]["format"] == results["adapter"]["format"]
    for key in ("tn", "fp", "fn", "tp", "mcc", "roc_auc"):
        assert results["export"]["metrics"][key] == pytest.approx(results["adapter"]["metrics"][key], abs=1e-4), key


def test_the_serving_example_with_plain_transformers_gives_fraudfts_scores(tokenizer, tiny_run, fp32_export):
    _, _, check_path = tiny_run
    records = [record for _, record in iter_jsonl(check_path)]
    namespace: dict = {}
    exec(SERVING_EXAMPLE.replace('"exported/r8"', repr(str(fp32_export))), namespace)  # the README's snippet
    served = [namespace["p_fraud"](r["instruction"], r["input"]) for r in records]
    saved_format, _ = read_saved_format(fp32_export)
    ours = score(load_model(str(fp32_export)), tokenizer, records,
                 EvalConfig(max_length=4096, format=saved_format, progress=False))
    assert served == pytest.approx(ours, abs=1e-5)


def test_a_bf16_export_reports_its_difference(run_cli, tiny_run, tmp_path):
    run_dir, _, check_path = tiny_run
    rc, out, err = run_cli("export", "--adapter", run_dir, "--out", tmp_path / "bf16", "--dtype", "bf16",
                       "--check", check_path)
    assert rc == 0, err
    check = json.loads((tmp_path / "bf16" / CHECK).read_text(encoding="utf-8"))
    assert 0 < check["max_abs_diff"] <= TOLERANCE["bf16"] and check["tolerance"] == TOLERANCE["bf16"]
    assert (f"export check on {check_path} (12 records, bf16): max |ΔP(fraud)| {check['max_abs_diff']:.3g} "
            f"(mean {check['mean_abs_diff']:.3g}), {check['flips']} flips at threshold 0.5; tolerance 0.05") in out
    config = json.loads((tmp_path / "bf16" / "config.json").read_text(encoding="utf-8"))
    assert config["dtype"] == "bfloat16"


def test_a_difference_above_the_tolerance_exits_1_in_one_line(run_cli, tiny_run, tmp_path):
    run_dir, _, check_path = tiny_run
    rc, out, err = run_cli("export", "--adapter", run_dir, "--out", tmp_path / "bf16", "--dtype", "bf16",
                       "--check", check_path, "--tolerance", "0")
    assert rc == 1
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: export check: max |ΔP(fraud)| ") and "exceeds --tolerance 0 " in line


def test_export_on_another_base_is_refused(run_cli, tiny_run, tmp_path):
    run_dir, _, _ = tiny_run
    rc, out, err = run_cli("export", "--adapter", run_dir, "--out", tmp_path / "x", "--model-seed", "1")
    assert rc == 2 and err.splitlines()[-1].endswith("; pass --allow-other-base to load it anyway")
    assert not (tmp_path / "x").exists()
