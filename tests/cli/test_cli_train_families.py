"""`fraudft train` on checkpoints of other architectures (fraudft.modeling.families): GPT-2
(Conv1D, n_embd/n_inner), Gemma-3 as published (sizes in a nested text_config, loaded by
AutoModelForCausalLM as Gemma3ForConditionalGeneration) and Phi-3 (fused qkv_proj/gate_up_proj),
saved with save_pretrained as a user brings them. Each trains 2 steps with the family's default
targets, and run.json lists the modules peft adapted."""

from __future__ import annotations

import json

import pytest

from fraudft import cli
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate
from tests.cli.test_cli_train import TINY_TRAIN
from tests.families import save_tiny_family

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ADAPTED = {
    "gpt2": ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"],
    "gemma3": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"],
    "phi3": ["self_attn.o_proj", "self_attn.qkv_proj", "mlp.gate_up_proj", "mlp.down_proj"],
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_jsonl(generate(SynthConfig(n=8, seed=21)), folder / "train.jsonl")
    write_jsonl(generate(SynthConfig(n=4, seed=22)), folder / "eval.jsonl")
    return folder


def train(capsys, model, data, out, *flags):
    rc = cli.main(["train", "--model", str(model), "--train", str(data / "train.jsonl"),
                   "--eval", str(data / "eval.jsonl"), "--out", str(out), *TINY_TRAIN, *flags])
    return (rc, *capsys.readouterr())


@pytest.mark.parametrize("family", sorted(ADAPTED))
def test_another_architecture_trains_two_steps_and_records_its_adapted_modules(capsys, tmp_path, data, family):
    model = save_tiny_family(family, tmp_path / family)
    rc, out, err = train(capsys, model, data, tmp_path / "run")
    assert rc == 0, err
    assert "Traceback" not in err and "trained 2 steps" in out
    assert f"LoRA on {', '.join(ADAPTED[family])} " in out
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert record["train_info"]["adapted_modules"] == ADAPTED[family]
    assert record["run_info"]["config"]["lora"]["target_modules"] is None  # none asked for: the family's
    assert record["train_info"]["model_flops"] > 0
    adapter = json.loads((tmp_path / "run" / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter["target_modules"]  # saved with the adapter as peft was given them


def test_targets_with_a_typo_are_one_line_naming_them_and_the_candidates(capsys, tmp_path, data):
    model = save_tiny_family("phi3", tmp_path / "phi3")
    rc, out, err = train(capsys, model, data, tmp_path / "run", "--target-modules", "qkv_proj,gate_up_prj")
    assert rc == 2 and out == ""
    assert err.splitlines()[-1] == (
        "error: target_modules: gate_up_prj matches no module of Phi3ForCausalLM (phi3 family), expected some "
        "of its linear layers: o_proj, qkv_proj, gate_up_proj, down_proj")
    assert "Traceback" not in err
    assert not (tmp_path / "run" / "run.json").exists()


def test_explicit_targets_adapt_only_those(capsys, tmp_path, data):
    model = save_tiny_family("phi3", tmp_path / "phi3")
    rc, _, err = train(capsys, model, data, tmp_path / "run", "--target-modules", "qkv_proj,gate_up_proj")
    assert rc == 0, err
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert record["train_info"]["adapted_modules"] == ["self_attn.qkv_proj", "mlp.gate_up_proj"]
    assert record["run_info"]["config"]["lora"]["target_modules"] == ["qkv_proj", "gate_up_proj"]
