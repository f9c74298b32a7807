"""Configuration that passes through: an arm's `lora` table to peft.LoraConfig and its `train` table
(and a recipe's [train]) to transformers.TrainingArguments, arms brought in a file of one's own
(--arms-file), and `fraudft train --lora KEY=VALUE --train-arg KEY=VALUE`."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, TaskType
from transformers import TrainingArguments

from fraudft import cli
from fraudft.core.errors import UsageError
from fraudft.experiment.arms import ARMS_BY_NAME, arms_by_name, load_arms
from fraudft.experiment.grid import GridConfig
from fraudft.experiment.recipes import load_recipe
from fraudft.experiment.runner import run_arm, splits_of, train_config
from fraudft.modeling.lora import REFERENCE_TARGET_MODULES
from fraudft.modeling.models import load_model
from fraudft.data.records import write_jsonl
from fraudft.results.record import RunRecord
from fraudft.synthetic import SynthConfig, generate
from fraudft.engine.train import logging_steps, train, training_arguments
from fraudft.engine.train_config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS = 2
MY_ARMS = """
[[arm]]
name = "dora"
description = "DoRA: magnitude and direction"
lora = { use_dora = true }

[[arm]]
name = "neftune"
description = "the reference with NEFTune noise on the embeddings"
train = { neftune_noise_alpha = 5, weight_decay = 0.01 }
"""


def write(tmp_path: Path, text: str, name: str = "my_arms.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def recipe():
    smoke = load_recipe("smoke")
    return dataclasses.replace(smoke, synthetic=(24, 8, 16),
                               train=dataclasses.replace(smoke.train, max_steps=STEPS, eval_steps=STEPS))


@pytest.fixture(scope="module")
def splits(recipe):
    return splits_of(recipe)


@pytest.fixture
def my_arms(tmp_path):
    path = write(tmp_path, MY_ARMS)
    return path, arms_by_name(path, check=True)


# --- the arms of a file, merged with the built-in ones ------------------------------------------


def test_an_arms_file_adds_its_arms_to_the_built_in_ones(my_arms):
    path, arms = my_arms
    assert list(arms)[: len(ARMS_BY_NAME)] == list(ARMS_BY_NAME) and list(arms)[-2:] == ["dora", "neftune"]
    dora, neftune = arms["dora"], arms["neftune"]
    assert dora.lora.get("use_dora") is True and dora.lora.r == 8 and dora.lora.scale == 2  # over the built-in [defaults]
    assert neftune.train == {"neftune_noise_alpha": 5, "weight_decay": 0.01} and neftune.lora == ARMS_BY_NAME["reference"].lora


def test_a_same_named_arm_replaces_the_built_in_one_said_in_one_line(tmp_path, capsys):
    path = write(tmp_path, '[[arm]]\nname = "reference"\ndescription = "mine"\nlora = { r = 4 }\n'
                           'extra_tests = ["neutralize_speakers"]\n')  # shortcut_mitigated compares with it there
    arms = load_arms(path)
    assert [a.name for a in arms] == [a.name for a in load_arms()]  # its place kept
    reference = {a.name: a for a in arms}["reference"]
    assert reference.description == "mine" and reference.lora.r == 4
    assert capsys.readouterr().err == f"{path}: replaces the built-in arm(s) reference\n"


def test_the_merged_arms_are_checked_together(tmp_path):
    path = write(tmp_path, '[[arm]]\nname = "reference"\ndescription = "mine"\n')  # without its extra_tests
    with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}: shortcut_mitigated: compared with reference, "
                                         "which is not tested on the same data"):
        load_arms(path)


def test_an_arms_file_arm_may_compare_with_built_in_arms(tmp_path):
    path = write(tmp_path, '[[arm]]\nname = "mine"\nexpect = [{kind = "beats", other = "baselines"}]\n')
    (e,) = arms_by_name(path)["mine"].expects
    assert e.other == ("untuned", "always_fraud", "surface_probe")  # the built-in [defaults]' group


@pytest.mark.parametrize("text, message", [
    ('[[arm]]\nname = "x"\nlora = { use_doora = true }\n',
     "arm x: lora: use_doora: unknown LoraConfig field (did you mean use_dora"),
    ('[[arm]]\nname = "x"\ntrain = { neftune_noise_alfa = 5 }\n',
     "arm x: train: neftune_noise_alfa: unknown training option, expected a fraudft TrainConfig field or a "
     "transformers.TrainingArguments field (did you mean neftune_noise_alpha?)"),
    ('[[arm]]\nname = "x"\nlora = { target_modules = ".*proj", layers_to_transform = [0] }\n',
     "arm x: lora: LoraConfig refused target_modules='.*proj', layers_to_transform=[0]: "),
    ('[[arm]]\nname = "x"\ntrain = { output_dir = "/tmp" }\n', "arm x: train: output_dir: set by the run, not by a config"),
    ('[[arm]]\nname = "x"\nlora = { r = 0 }\n', "arm x: lora: r: got 0, expected a positive integer"),
    ('[[arm]]\nname = "x"\nmethod = "none"\ntrain = { optim = "adafactor" }\n', "arm x: train: an arm that trains nothing"),
    ('[[arm]]\nname = "x"\nexpect = [{kind = "beats", other = "nobody"}]\n', "x: expect: other: got 'nobody', expected an arm, one of "),
    ('[arms]\n', "unknown table(s) arms"),
])
def test_a_bad_arms_file_is_one_line_naming_the_file_the_arm_and_the_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as error:
        load_arms(path, check=True)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_the_old_spellings_are_still_read(tmp_path):
    path = write(tmp_path, '[[arm]]\nname = "old"\ntrain = "lora"\nlora = { alpha = 32, dropout = 0.1, rslora = true }\n')
    old = arms_by_name(path)["old"]
    assert old.method == "lora" and old.train == {}
    assert old.lora.kwargs() == {"r": 8, "lora_alpha": 32, "lora_dropout": 0.1, "use_rslora": True,
                                 "target_modules": list(REFERENCE_TARGET_MODULES)}


def test_grid_knows_the_arms_of_the_file(my_arms):
    path, _ = my_arms
    assert GridConfig(arms=("dora",), arms_file=str(path)).arms == ("dora",)
    with pytest.raises(UsageError, match="--arms: got 'dora', expected an arm, one of untuned, "):
        GridConfig(arms=("dora",))


# --- the built-in arms build what they built before ---------------------------------------------


def _reference_training_arguments(config: TrainConfig, output_dir: str) -> TrainingArguments:
    """fraudft.engine.train.training_arguments as it was before pass-through (d6a083a), kept here to compare."""
    return TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, num_train_epochs=config.epochs, max_steps=config.max_steps,
        learning_rate=config.learning_rate, weight_decay=config.weight_decay, warmup_steps=config.warmup,
        lr_scheduler_type=config.lr_scheduler, eval_strategy="steps", eval_steps=config.eval_steps,
        save_strategy="steps" if config.load_best_model_at_end or config.save_steps else "no",
        save_steps=config.save_steps or config.eval_steps,
        save_total_limit=2 if config.load_best_model_at_end or config.save_steps else None,
        save_only_model=not config.save_steps, load_best_model_at_end=config.load_best_model_at_end,
        metric_for_best_model="eval_loss", greater_is_better=False,
        gradient_checkpointing=config.gradient_checkpointing is True,
        gradient_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing is True else None,
        train_sampling_strategy="group_by_length" if config.batching == "length_grouped" else "random",
        torch_compile=config.compile, logging_steps=max(1, config.eval_steps // 2), prediction_loss_only=True,
        remove_unused_columns=False, report_to="none", seed=config.seed, data_seed=config.seed,
        disable_tqdm=not config.progress, use_cpu=not torch.cuda.is_available(),
    )


@pytest.mark.parametrize("name", [a.name for a in load_arms() if a.lora is not None])
def test_built_in_arms_build_the_lora_config_and_training_arguments_of_before(name, tmp_path):
    arm, recipe = ARMS_BY_NAME[name], load_recipe("cpu-tiny")
    before = LoraConfig(task_type=TaskType.CAUSAL_LM, r=arm.lora.r, lora_alpha=arm.lora.alpha,
                        lora_dropout=arm.lora.dropout, target_modules=list(arm.lora.target_modules),
                        use_rslora=arm.lora.rslora)
    assert arm.lora.peft_config().to_dict() == before.to_dict()
    config = train_config(arm, recipe, seed=0)
    old = dataclasses.replace(recipe.train, seed=0, learning_rate=recipe.train.learning_rate * arm.learning_rate_scale)
    assert config == old and config.training_args == {}
    now, before = training_arguments(config, str(tmp_path)).to_dict(), _reference_training_arguments(old, str(tmp_path)).to_dict()
    # logging_steps alone moved (issue 32: the loss plot's points); logging changes no weight (tests/engine)
    assert now.pop("logging_steps") == logging_steps(config) and before.pop("logging_steps") >= logging_steps(config)
    assert now == before


def test_the_reference_arm_of_cpu_tiny_keeps_its_settings():
    reference = ARMS_BY_NAME["reference"].lora.peft_config()
    assert (reference.r, reference.lora_alpha, reference.lora_dropout, reference.use_rslora, reference.use_dora) == (8, 16, 0.05, False, False)
    assert set(reference.target_modules) == set(REFERENCE_TARGET_MODULES) and reference.init_lora_weights is True


# --- a recipe's [train] and TrainConfig ----------------------------------------------------------


def test_training_options_split_between_fraudft_and_training_arguments():
    config = TrainConfig.from_dict({"learning_rate": 1e-3, "lr_scheduler_type": "cosine", "neftune_noise_alpha": 5,
                                    "optim": "adafactor"})
    assert config.learning_rate == 1e-3 and config.lr_scheduler == "cosine"  # a TrainingArguments spelling of a field
    assert config.training_args == {"neftune_noise_alpha": 5, "optim": "adafactor"}
    args = training_arguments(config, "/tmp/fraudft-unused")
    assert args.neftune_noise_alpha == 5 and args.optim == "adafactor" and args.lr_scheduler_type == "cosine"
    assert config.with_options({"warmup_steps": 3, "max_grad_norm": 0.5}).training_args == {
        "neftune_noise_alpha": 5, "optim": "adafactor", "max_grad_norm": 0.5}
    assert TrainConfig.from_dict(dataclasses.asdict(config)) == config  # as a record stores it


@pytest.mark.parametrize("options, message", [
    ({"neftune_noise_alfa": 5}, r"^neftune_noise_alfa: unknown training option, .* \(did you mean neftune_noise_alpha\?\)$"),
    ({"lr_scheduler": "linear", "lr_scheduler_type": "cosine"}, r"^lr_scheduler_type: given twice"),
    ({"output_dir": "x"}, r"^output_dir: set by the run"),
])
def test_bad_training_options_are_one_line(options, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict(options)


# --- DoRA and NEFTune arms, defined only in the test's arms file, train ---------------------------


@pytest.mark.parametrize("name", ["dora", "neftune"])
def test_arms_of_the_file_train_and_their_records_keep_the_settings(my_arms, recipe, splits, tmp_path, name):
    _, arms = my_arms
    record = run_arm(arms[name], recipe, splits, seed=0, results_root=tmp_path)
    assert record.ok, record.error
    stored = json.loads(Path(record.path).read_text(encoding="utf-8"))["run_info"]["config"]
    if name == "dora":
        assert stored["arm"]["lora"]["use_dora"] is True and RunRecord.read(record.path).lora["use_dora"] is True
    else:
        assert stored["arm"]["train"] == {"neftune_noise_alpha": 5, "weight_decay": 0.01}
        assert stored["train_config"]["training_args"] == {"neftune_noise_alpha": 5}
        assert stored["train_config"]["weight_decay"] == 0.01
    assert stored["train_config"]["learning_rate"] == record.train_info["learning_rate"]


def test_the_dora_adapter_and_the_neftune_trainer_save_their_settings(my_arms, recipe, splits, tokenizer, tmp_path):
    _, arms = my_arms
    dora = arms["dora"]
    model, _ = train(load_model("tiny"), tokenizer, splits.train, splits.eval, dora.lora,
                     train_config(dora, recipe, 0), str(tmp_path / "dora"))
    model.save_pretrained(tmp_path / "dora-adapter")
    saved = json.loads((tmp_path / "dora-adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert saved["use_dora"] is True and saved["r"] == 8 and saved["lora_alpha"] == 16
    assert any("lora_magnitude_vector" in k for k in model.state_dict())  # DoRA's own weights

    neftune = arms["neftune"]
    config = dataclasses.replace(train_config(neftune, recipe, 0), save_steps=STEPS)  # a checkpoint to read back
    train(load_model("tiny"), tokenizer, splits.train, splits.eval, neftune.lora, config, str(tmp_path / "neftune"))
    (checkpoint,) = (tmp_path / "neftune").glob("checkpoint-*")
    args = torch.load(checkpoint / "training_args.bin", weights_only=False)  # the Trainer's saved arguments
    assert args.neftune_noise_alpha == 5 and args.weight_decay == 0.01


# --- fraudft train --lora KEY=VALUE --train-arg KEY=VALUE ------------------------------------------

TINY_TRAIN = ("--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--eval-steps", "1",
              "--patience", "0", "--max-length", "128", "--quiet")


@pytest.fixture
def files(tmp_path):
    train_path, eval_path = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    write_jsonl(generate(SynthConfig(n=8, seed=21)), train_path)
    write_jsonl(generate(SynthConfig(n=4, seed=22)), eval_path)
    return ["--model", "tiny", "--train", str(train_path), "--eval", str(eval_path)]


def test_cli_train_passes_lora_and_training_arguments_through(capsys, files, tmp_path):
    out = tmp_path / "out"
    rc = cli.main(["train", *files, "--out", str(out), *TINY_TRAIN, "--lora", "use_dora=true",
                   "--lora", 'target_modules=["q_proj", "v_proj"]', "--train-arg", "neftune_noise_alpha=5",
                   "--train-arg", "optim=adafactor",
                   "--train-arg", "load_best_model_at_end=true"])  # checkpoints, whose training_args.bin is read below
    assert rc == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))["run_info"]["config"]
    assert run["lora"]["use_dora"] is True and run["lora"]["target_modules"] == ["q_proj", "v_proj"]
    assert run["train_config"]["training_args"] == {"neftune_noise_alpha": 5, "optim": "adafactor"}
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter["use_dora"] is True and set(adapter["target_modules"]) == {"q_proj", "v_proj"}
    checkpoint = sorted((out / "checkpoints").glob("checkpoint-*"))[-1]
    args = torch.load(checkpoint / "training_args.bin", weights_only=False)
    assert args.neftune_noise_alpha == 5 and args.optim == "adafactor"


@pytest.mark.parametrize("flags, message", [
    (("--lora", "use_doora=true"), "lora: use_doora: unknown LoraConfig field (did you mean use_dora"),
    (("--train-arg", "neftune_noise_alfa=5"), "--train-arg: neftune_noise_alfa: unknown training option"),
    (("--train-arg", "optim=sgdd"), "--train-arg: "),
    (("--lora", "r=4", "--lora-r", "8"), "--lora r: also given as --lora-r; give it once"),
    (("--train-arg", "learning_rate=0.1", "--lr", "0.2"), "--train-arg learning_rate: also given as --lr"),
    (("--lora", "nokey"), "--lora: got 'nokey', expected KEY=VALUE"),
])
def test_cli_train_refuses_bad_keys_in_one_line(capsys, files, tmp_path, flags, message):
    rc = cli.main(["train", *files, "--out", str(tmp_path / "out"), *TINY_TRAIN, *flags])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {message}"), err
    assert not (tmp_path / "out" / "run.json").exists()


def test_cli_values_read_as_toml_or_json_literals_else_strings():
    from fraudft.cli.train import parse_assignments

    assert parse_assignments(["a=true", "b=5", "c=0.5", "d=adafactor", 'e=["x", "y"]', "f={\"k\": 1}", "g="], "--x") == {
        "a": True, "b": 5, "c": 0.5, "d": "adafactor", "e": ["x", "y"], "f": {"k": 1}, "g": ""}
    assert re.match("--x: k given twice", pytest.raises(UsageError, parse_assignments, ["k=1", "k=2"], "--x").value.args[0])


def test_run_arm_and_the_grid_s_commands_take_the_arms_file(my_arms, capsys, tmp_path):
    from fraudft.experiment import grid

    path, _ = my_arms
    command = grid.run_arm_command(load_recipe("smoke"), "dora", 0, tmp_path, arms_file=str(path))
    assert command[-2:] == ["--arms-file", str(path.resolve())]
    rc = cli.main(["run-arm", "--recipe", "smoke", "--arms-file", str(path), "--arm", "doraa", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and re.fullmatch(r"error: --arm: got 'doraa', expected an arm, one of .*, dora, neftune \(did you mean dora\?\)\n", err), err
