"""fraudft.experiment.runner: one arm's record, seeds that reach the LoRA init, baselines, failures."""

import dataclasses
from pathlib import Path

import pytest
import torch

from fraudft.experiment.arms import ARMS_BY_NAME
from fraudft.experiment.recipes import load_recipe
from fraudft.experiment.runner import run_arm, splits_of
from fraudft.modeling.lora import LoraSettings
from fraudft.modeling.models import load_model
from fraudft.engine.train import train
from fraudft.engine.train_config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS = 2


@pytest.fixture(scope="module")
def recipe():
    smoke = load_recipe("smoke")
    return dataclasses.replace(smoke, synthetic=(24, 8, 16), train=dataclasses.replace(smoke.train, max_steps=STEPS, eval_steps=STEPS))


@pytest.fixture(scope="module")
def splits(recipe):
    return splits_of(recipe)


def _lora_weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def _initial_lora(tokenizer, splits, seed):
    config = TrainConfig(batch_size=4, grad_accum=1, max_steps=1, learning_rate=1e-12, eval_steps=1,
                         early_stopping_patience=None, load_best_model_at_end=False, gradient_checkpointing=False,
                         max_length=192, seed=seed, progress=False)
    model, _ = train(load_model("tiny"), tokenizer, splits.train[:4], splits.eval[:4], LoraSettings(), config, "/tmp/fraudft-seed")
    return _lora_weights(model)


def test_the_seed_reaches_the_lora_init(tokenizer, splits):
    a, b, c = (_initial_lora(tokenizer, splits, seed) for seed in (0, 0, 1))
    assert a.keys() == b.keys() == c.keys() and a
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.allclose(a[k], c[k]) for k in a if "lora_A" in k)


def test_an_arm_gives_the_same_record_alone_or_after_other_work(recipe, splits):
    alone = run_arm(ARMS_BY_NAME["reference"], recipe, splits, seed=0)
    torch.manual_seed(1234)
    torch.rand(1000)  # what an earlier arm in the same process would have done to the global RNG
    after = run_arm(ARMS_BY_NAME["reference"], recipe, splits, seed=0)
    assert alone.ok and after.ok
    assert alone.test.predictions == after.test.predictions and alone.test.scores == after.test.scores
    assert alone.train_info["log_history"][0]["loss"] == after.train_info["log_history"][0]["loss"]
    assert alone.train_info["relative_throughput"] > 0
    assert [e.name for e in alone.evaluations] == ["test", "test:neutralize_speakers"]  # arms.toml extra_tests
    extra = alone.evaluation("test:neutralize_speakers")
    assert extra.labels == alone.test.labels and len(extra.scores) == len(splits.test)
    assert extra.scores != alone.test.scores  # the same adapter on other (neutralised) text
    # how many test records the counterfactual changed, and why it left the others as they were
    assert extra.metrics["records_changed"] + extra.metrics["records_unchanged"] == len(splits.test)
    assert sum(extra.metrics["unchanged_why"].values()) == extra.metrics["records_unchanged"]
    assert alone.train_info["learning_rate"] == recipe.train.learning_rate
    # the modules peft adapted, as the record type reads them (the tiny Qwen2's seven projections)
    assert alone.adapted_modules == ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                     "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    point = alone.test.operating_point  # chosen on the eval split by the recipe's rule
    assert point["rule"] == str(recipe.decision) and (point["threshold"] is None) == (point["test"] is None)


@pytest.mark.parametrize("name", ["always_fraud", "surface_probe"])
def test_baseline_arms_need_no_model_and_are_recorded(tmp_path, recipe, splits, name):
    record = run_arm(ARMS_BY_NAME[name], recipe, splits, seed=0, results_root=tmp_path)
    assert record.train_info == {"status": "success", "steps": 0} and record.adapted_modules is None
    test = record.test
    assert len(test.predictions) == len(test.scores) == len(splits.test)
    assert record.path.endswith(f"{recipe.key}/{name}-seed0.json")
    assert test.predictions == [int(s >= 0.5) for s in test.scores]
    assert test.operating_point is not None and test.operating_point["rule"] == "max_f1"
    if name == "always_fraud":
        assert set(test.predictions) == {1} and set(test.scores) == {1.0}


def test_a_failing_arm_is_recorded_as_failed(tmp_path, recipe, splits):
    broken = dataclasses.replace(recipe, model="/nonexistent/model/folder")
    record = run_arm(ARMS_BY_NAME["reference"], broken, splits, seed=0, results_root=tmp_path)
    assert record.status == "failed" and record.error and record.evaluations == []
    assert (tmp_path / record.commit / broken.key / "reference-seed0.json").is_file()


def test_a_diverging_arm_is_recorded_as_failed_and_the_next_arm_still_succeeds(tmp_path, recipe, splits):
    from fraudft.core.jsonio import loads_strict
    from fraudft.results.store import load_records

    diverging = dataclasses.replace(ARMS_BY_NAME["reference"], name="diverging", train={"learning_rate": 1e30})
    failed = run_arm(diverging, recipe, splits, seed=0, results_root=tmp_path)
    assert failed.status == "failed" and failed.evaluations == []
    assert failed.error.startswith("TrainingDiverged: training diverged at step ")
    ok = run_arm(ARMS_BY_NAME["reference"], recipe, splits, seed=0, results_root=tmp_path)  # the same process goes on
    assert ok.ok and ok.train_info["steps"] == STEPS
    on_disk = loads_strict(Path(failed.path).read_text(encoding="utf-8"))["train_info"]  # strict JSON: NaN as null
    assert on_disk["diverged"]["step"] == on_disk["steps"] + 1 and on_disk["diverged"]["nonfinite"]
    loads_strict(Path(ok.path).read_text(encoding="utf-8"))
    stored = {r.arm: r.status for r in load_records(tmp_path, failed.commit)}
    assert stored == {"diverging": "failed", "reference": "success"}


@pytest.mark.parametrize("mode", ["score", "generate"])
def test_a_model_arm_records_truncation_and_generate_mode_replies(tmp_path, recipe, splits, mode):
    from fraudft.results.store import load_records

    # A max_length that cuts some synthetic test dialogues but not all; untuned: no training to wait for.
    evaluation = dataclasses.replace(recipe.eval, mode=mode, max_length=192, max_new_tokens=2)
    record = run_arm(ARMS_BY_NAME["untuned"], dataclasses.replace(recipe, eval=evaluation), splits, seed=0,
                     results_root=tmp_path)
    assert record.ok, record.train_info
    test, n = record.test, len(splits.test)
    metrics = test.metrics
    assert 0 < metrics["truncated"] < n and metrics["tokens_removed"] >= metrics["truncated"]
    if mode == "score":
        assert test.replies is None and "cut_replies" not in metrics and len(test.scores) == n
    else:
        assert test.scores is None and test.operating_point is None
        assert len(test.replies) == len(test.reply_status) == n
        # Two new tokens are never a whole answer: each reply is invalid, and every cut one says so.
        assert all(status.startswith("invalid: ") for status in test.reply_status)
        assert metrics["cut_replies"] == sum(status.endswith("cut at max_new_tokens (no stop token)")
                                             for status in test.reply_status)
        assert metrics["invalid"] == n
    (loaded,) = load_records(tmp_path, record.commit)  # the store reads it back as a whole record
    assert loaded.test == test


@pytest.mark.parametrize("answer", ["is_fraud", "is_fraud_speaker_reason"])
def test_generate_mode_sizes_max_new_tokens_from_the_trained_answers(tmp_path, recipe, splits, answer):
    from fraudft.modeling.encode import EncodeConfig, Encoder
    from fraudft.modeling.taskformat import ANSWER_MARGIN, TaskFormat
    from fraudft.modeling.tokenizer import load_tokenizer

    task = TaskFormat(answer=answer)
    # The three-field answer trains each record's reason (the synthetic records have none: give one).
    splits = dataclasses.replace(splits, **{name: [{**r, "reason": "对方要求转账到安全账户。" if r["label"] else "日常对话。"}
                                                   for r in getattr(splits, name)] for name in ("train", "eval", "test")})
    sized = dataclasses.replace(recipe, eval=dataclasses.replace(recipe.eval, format=task, mode="generate",
                                                                 max_new_tokens=None))
    record = run_arm(ARMS_BY_NAME["untuned"], sized, splits, seed=0, results_root=tmp_path)
    assert record.ok, record.train_info
    encoder = Encoder(load_tokenizer("qwen2-offline"), EncodeConfig(format=task))
    longest = max(len(encoder.answer_ids(r)) for r in splits.train)
    assert record.test.metrics["max_new_tokens"] == longest + ANSWER_MARGIN
    assert record.format == task.to_dict()
    set_by_recipe = dataclasses.replace(sized, eval=dataclasses.replace(sized.eval, max_new_tokens=3))
    record = run_arm(ARMS_BY_NAME["untuned"], set_by_recipe, splits, seed=0, results_root=tmp_path / "set")
    assert record.test.metrics["max_new_tokens"] == 3  # the recipe's own limit wins


def test_an_iso_arm_trains_at_its_scaled_learning_rate(recipe):
    from fraudft.experiment.runner import train_config

    assert train_config(ARMS_BY_NAME["iso_alpha_r8"], recipe, 3).learning_rate == recipe.train.learning_rate / 4
    assert train_config(ARMS_BY_NAME["reference"], recipe, 3) == dataclasses.replace(recipe.train, seed=3)


@pytest.mark.parametrize("name", ["reference", "surface_probe"])
def test_every_arm_is_scored_on_each_extra_test_set_as_extra_name(tmp_path, recipe, splits, name):
    from fraudft.experiment.extra_tests import parse_extra_tests
    from fraudft.data.records import write_jsonl
    from fraudft.synthetic import SynthConfig, generate

    other = generate(SynthConfig(n=12, seed=41))
    write_jsonl(other, tmp_path / "other.jsonl")
    write_jsonl([r for r in other if r["label"]], tmp_path / "fraud.jsonl")  # one class
    extra = parse_extra_tests([f"other={tmp_path / 'other.jsonl'}", f"neutralize_speakers={tmp_path / 'fraud.jsonl'}"])
    record = run_arm(ARMS_BY_NAME[name], dataclasses.replace(recipe, extra_tests=extra), splits, seed=0)
    assert record.ok, record.error
    names = [e.name for e in record.evaluations]
    assert names[-2:] == ["extra:other", "extra:neutralize_speakers"]  # a NAME like a counterfactual's cannot collide
    ood = record.evaluation("extra:other")
    assert ood.labels == [int(r["label"]) for r in other] and len(ood.scores) == 12
    assert ood.metrics["examples_per_s"] > 0 and "records_changed" not in ood.metrics  # not a counterfactual
    assert ood.operating_point["rule"] == record.test.operating_point["rule"]  # chosen on the in-domain eval split
    one = record.evaluation("extra:neutralize_speakers")
    assert set(one.labels) == {1} and "records_changed" not in one.metrics
    assert record.config["backend"]["extra_tests"] == [list(t) for t in extra]  # a reused record must have them
