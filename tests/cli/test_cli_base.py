"""An adapter loads only on the base it was trained on (issue 26, item 1), and LoRA on a tied head is
refused (item 5): `fraudft train` records the base beside the adapter, `fraudft evaluate` compares it."""

from __future__ import annotations

import json

import pytest

from fraudft import cli
from fraudft.data.records import write_jsonl
from fraudft.modeling.models import load_model
from fraudft.modeling.provenance import SAVED_BASE, BaseWarning
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_TRAIN = ("--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--eval-steps", "2",
              "--patience", "0", "--max-length", "128", "--quiet")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    train_path, eval_path = folder / "train.jsonl", folder / "eval.jsonl"
    write_jsonl(generate(SynthConfig(n=8, seed=21)), train_path)
    write_jsonl(generate(SynthConfig(n=4, seed=22)), eval_path)
    return folder, train_path, eval_path


@pytest.fixture(scope="module")
def tiny_run(files):
    """A 2-step adapter trained on tiny at --model-seed 0."""
    folder, train_path, eval_path = files
    out = folder / "run"
    assert cli.main(["train", "--model", "tiny", "--model-seed", "0", "--train", str(train_path), "--eval",
                     str(eval_path), "--out", str(out), *TINY_TRAIN]) == 0
    return out


def test_train_records_the_base_beside_the_adapter(tiny_run):
    record = json.loads((tiny_run / "adapter" / SAVED_BASE).read_text(encoding="utf-8"))
    assert record["model"] == "tiny" and record["model_seed"] == 0 and record["tokenizer"] == "qwen2-offline"
    assert len(record["weights"]) == 64 and len(record["tokenizer_fingerprint"]) == 64


def test_an_adapter_on_another_seed_is_one_line_and_loads_only_when_allowed(run_cli, files, tiny_run):
    _, _, eval_path = files
    argv = ("evaluate", "--model", "tiny", "--adapter", tiny_run, "--data", eval_path, "--json")
    rc, _, err = run_cli(*argv, "--model-seed", "0")
    assert rc == 0, err
    rc, out, err = run_cli(*argv, "--model-seed", "1")
    assert rc == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: --adapter {tiny_run}: trained on tiny (model seed 0, weights ")
    assert ", loading tiny (model seed 1, weights " in err
    assert err.endswith("; pass --allow-other-base to load it anyway\n")
    rc, out, err = run_cli(*argv, "--model-seed", "1", "--allow-other-base")
    assert rc == 0, err
    assert json.loads(out)["metrics"]["n"] == 4


def test_two_checkpoints_of_one_architecture_are_told_apart(run_cli, files):
    folder, train_path, eval_path = files
    for name, seed in (("base_a", 0), ("base_b", 1)):
        load_model("tiny", seed=seed).save_pretrained(folder / name)
    out = folder / "run_a"
    rc, _, err = run_cli("train", "--model", folder / "base_a", "--tokenizer", "qwen2-offline", "--train",
                     train_path, "--eval", eval_path, "--out", out, "--lr", "0.003", *TINY_TRAIN)
    assert rc == 0, err
    argv = ("evaluate", "--tokenizer", "qwen2-offline", "--adapter", out, "--data", eval_path, "--json")
    rc, _, err = run_cli(*argv, "--model", folder / "base_a")
    assert rc == 0, err
    rc, _, err = run_cli(*argv, "--model", folder / "base_b")
    assert rc == 2
    (err,) = [line for line in err.splitlines() if line.startswith("error:")]  # besides transformers' loading bar
    assert f"trained on {folder / 'base_a'} (weights " in err and f"loading {folder / 'base_b'} (weights " in err


def test_an_adapter_saved_without_its_base_loads_with_a_warning(run_cli, files, tiny_run, tmp_path):
    import shutil

    _, _, eval_path = files
    old = tmp_path / "old"
    shutil.copytree(tiny_run / "adapter", old)
    (old / SAVED_BASE).unlink()
    with pytest.warns(BaseWarning) as caught:
        rc, _, err = run_cli("evaluate", "--model", "tiny", "--adapter", old, "--data", eval_path, "--json")
    assert rc == 0, err
    assert str(caught[0].message).startswith(f"--adapter {old}: saved without a record of its base ({SAVED_BASE}), "
                                             "so it cannot be checked against tiny (model seed 0, weights ")


def test_lora_on_the_tied_head_of_tiny_is_refused(run_cli, files, tmp_path):
    _, train_path, eval_path = files
    rc, _, err = run_cli("train", "--model", "tiny", "--train", train_path, "--eval", eval_path, "--out",
                     tmp_path / "out", "--target-modules", "q_proj,v_proj,lm_head", *TINY_TRAIN)
    assert rc == 2
    assert err.splitlines()[-1] == (
        "error: target_modules: lm_head selects lm_head, whose weight is tied to model.embed_tokens "
        "(tie_word_embeddings), expected untied modules: LoRA there would save the whole tied matrix with the "
        "adapter and merging would change model.embed_tokens too; drop lm_head")
    assert not (tmp_path / "out" / "adapter").exists()
