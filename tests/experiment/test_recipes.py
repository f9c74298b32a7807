"""fraudft.experiment.recipes: recipes read from configs/recipes/*.toml, layered, keyed by model and device."""

import pytest

from fraudft.core.errors import UsageError
from fraudft.experiment.recipes import load_recipe, model_slug


def test_the_cpu_recipe_is_the_tiny_model_on_synthetic_data():
    recipe = load_recipe("cpu-tiny")
    assert (recipe.model, recipe.device, recipe.data_dir) == ("tiny", "cpu", None)
    assert recipe.train.max_steps > 0 and recipe.train.early_stopping_patience is None
    assert "min_relative_throughput" in recipe.budgets


def test_smoke_extends_the_cpu_recipe_table_by_table():
    cpu, smoke = load_recipe("cpu-tiny"), load_recipe("smoke")
    assert smoke.train.learning_rate == cpu.train.learning_rate  # inherited
    assert smoke.train.max_steps < cpu.train.max_steps  # overridden
    assert smoke.synthetic != cpu.synthetic


@pytest.mark.parametrize("name, overrides, key", [
    ("cpu-tiny", {}, "cpu-tiny"),
    ("smoke", {}, "smoke-tiny-cpu"),
    ("gpu", {}, "gpu-qwen2-1.5b-instruct-cuda"),
    ("gpu", {"model": "/models/My_Checkpoint/", "device": "cpu"}, "gpu-my-checkpoint-cpu"),
    ("cpu-tiny", {"model": "qwen2-1.5b-arch", "device": "cuda"}, "cpu-tiny-qwen2-1.5b-arch-cuda"),
    ("cpu-tiny", {"data_dir": "/data/Real_Split/"}, "cpu-tiny-on-real-split"),
])
def test_the_records_key_names_recipe_model_and_device(name, overrides, key):
    assert load_recipe(name, **overrides).key == key


def test_model_slug():
    assert model_slug("Qwen/Qwen2-1.5B-Instruct") == "qwen2-1.5b-instruct"


@pytest.mark.parametrize("name, overrides, message", [
    ("nope", {}, "expected one of"),
    ("cpu-tiny", {"device": "tpu"}, "device: got 'tpu'"),
    ("cpu-tiny", {"dtype": "fp8"}, "dtype: got 'fp8'"),
])
def test_bad_recipes_and_overrides_are_usage_errors(name, overrides, message):
    with pytest.raises(UsageError, match=message):
        load_recipe(name, **overrides)


def test_another_step_budget_keeps_memory_budgets_and_drops_speed_ones():
    recipe = load_recipe("cpu-tiny")
    quick = recipe.with_steps(2)
    assert (quick.train.max_steps, quick.train.eval_steps) == (2, 2)
    assert "min_relative_throughput" not in quick.budgets and quick.budgets["max_peak_rss_gb"] == recipe.budgets["max_peak_rss_gb"]
    assert recipe.with_steps(None) is recipe and recipe.with_steps(recipe.train.max_steps) is recipe
    with pytest.raises(UsageError, match="steps: got 0"):
        recipe.with_steps(0)


def test_each_recipe_has_its_task_format():
    from fraudft.modeling.taskformat import TaskFormat

    assert load_recipe("cpu-tiny").format == TaskFormat(prompt="reference")
    assert load_recipe("smoke").format == TaskFormat(prompt="reference")
    gpu = load_recipe("gpu")
    assert gpu.format == TaskFormat(prompt="chat_template") and gpu.eval.format is gpu.format
    assert gpu.to_dict()["format"]["prompt"] == "chat_template"


def test_a_bad_format_table_names_the_recipe_and_field(monkeypatch):
    import fraudft.experiment.recipes as recipes

    real = recipes.read_config
    monkeypatch.setattr(recipes, "read_config", lambda path: {**real(path), "format": {"prompt": "chatml"}})
    with pytest.raises(UsageError, match=r"recipes/cpu-tiny.toml: prompt: got 'chatml', expected a prompt, one of reference"):
        load_recipe("cpu-tiny")
