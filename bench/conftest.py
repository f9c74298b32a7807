"""Fixtures of the ablation benchmark: backends, data splits, budgets and the session's records."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
import torch

from fraudft.ablation import BACKENDS, load_splits

BUDGETS = tomllib.loads((Path(__file__).parent / "budgets.toml").read_text())


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
    """Records produced in this session, keyed by (backend, arm, seed)."""
    return {}


@pytest.fixture(scope="session")
def backend_for(pytestconfig):
    """The Backend recipe of a name, with the gpu one pointed at --model and --data-dir."""

    def resolve(name: str):
        backend = BACKENDS[name]
        if name != "gpu":
            return backend
        if not torch.cuda.is_available():
            pytest.skip("the gpu backend needs CUDA: none is available here")
        model = pytestconfig.getoption("--model")
        try:
            from transformers import AutoConfig

            AutoConfig.from_pretrained(model)
        except Exception as err:  # offline, missing path, no access...
            pytest.skip(f"the gpu backend cannot load model {model!r}: {type(err).__name__}: {err}")
        data_dir = pytestconfig.getoption("--data-dir")
        return dataclasses.replace(backend, model=model, tokenizer=model, data_dir=Path(data_dir) if data_dir else None)

    return resolve


@pytest.fixture(scope="session")
def splits_for():
    cache = {}

    def load(backend):
        key = (backend.name, backend.data_dir, backend.synth_sizes)
        if key not in cache:
            cache[key] = load_splits(backend)
        return cache[key]

    return load


@pytest.fixture(scope="session")
def budgets() -> dict:
    return BUDGETS


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    records = getattr(config, "_fraudft_records", None)
    if not records:
        return
    from fraudft.report import markdown_table

    terminalreporter.section("fraudft results")
    terminalreporter.write_line(markdown_table(list(records.values())))
    paths = sorted({str(Path(r["path"]).parent) for r in records.values() if "path" in r})
    for path in paths:
        terminalreporter.write_line(f"records written under {path}/")
