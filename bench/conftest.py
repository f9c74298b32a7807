"""Fixtures of the ablation benchmark: recipes, data splits and the session's records (the
command-line options are in the root conftest.py).

    pytest bench                      # the ablation grid on CPU: tiny model, synthetic data
    pytest bench -m gpu --model PATH --data-dir DIR --seeds 3
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fraudft.experiment.recipes import load_recipe
from fraudft.experiment.runner import splits_of


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", range(metafunc.config.getoption("--seeds")), ids=lambda s: f"seed{s}")


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


@pytest.fixture(scope="session")
def results_root(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--results-dir"))


@pytest.fixture(scope="session")
def session_records() -> dict:
    """Records produced in this session, keyed by (recipe, arm, seed)."""
    return {}


@pytest.fixture(scope="session")
def recipe_for(pytestconfig):
    """The Recipe of a name, with the gpu one pointed at --model and --data-dir."""
    cache = {}

    def resolve(name: str):
        if name in cache:
            return cache[name]
        if name != "gpu":
            cache[name] = load_recipe(name)
            return cache[name]
        if not torch.cuda.is_available():
            pytest.skip("the gpu recipe needs CUDA: none is available here")
        model = pytestconfig.getoption("--model")
        try:
            from transformers import AutoConfig

            AutoConfig.from_pretrained(model)
        except Exception as err:  # offline, missing path, no access...
            pytest.skip(f"the gpu recipe cannot load model {model!r}: {type(err).__name__}: {err}")
        cache[name] = load_recipe(name, model=model, tokenizer=model, data_dir=pytestconfig.getoption("--data-dir"))
        return cache[name]

    return resolve


@pytest.fixture(scope="session")
def splits_for():
    cache = {}

    def load(recipe):
        key = (recipe.name, recipe.data_dir, recipe.synthetic)
        if key not in cache:
            cache[key] = splits_of(recipe)
        return cache[key]

    return load


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    records = getattr(config, "_fraudft_records", None)
    if not records:
        return
    from fraudft.results.report import markdown_table

    terminalreporter.section("fraudft results")
    terminalreporter.write_line(markdown_table(list(records.values())))
    paths = sorted({str(Path(r["path"]).parent) for r in records.values() if "path" in r})
    for path in paths:
        terminalreporter.write_line(f"records written under {path}/")
