"""Fixtures of the ablation benchmark: recipes and the session's records (the command-line options
are in the root conftest.py).

    pytest bench                      # the ablation grid on CPU: tiny model, synthetic data
    pytest bench -m gpu --model PATH --data-dir DIR --seeds 3
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudft.errors import UsageError
from fraudft.experiment.recipes import load_recipe


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", range(metafunc.config.getoption("--seeds")), ids=lambda s: f"seed{s}")


def pytest_benchmark_update_machine_info(config, machine_info):
    import torch

    machine_info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


@pytest.fixture(scope="session")
def results_root(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--results-dir"))


@pytest.fixture(scope="session")
def session_records() -> dict:
    """What this session ran or reused, and the verdicts of its expectations."""
    return {"records": {}, "reused": [], "verdicts": []}


def _real_model_recipe(config):
    """The gpu recipe pointed at --model, --data-dir, --device, --dtype; a one-line error when it can't run."""
    import torch

    device = config.getoption("--device") or "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("-m gpu: no CUDA device here; pass --device cpu to run the real-model recipe on the CPU")
    model = config.getoption("--model")
    from fraudft.modeling.models import PRESETS
    from fraudft.modeling.tokenizer import OFFLINE_QWEN2

    if model not in PRESETS:
        try:
            from transformers import AutoConfig

            AutoConfig.from_pretrained(model)
        except Exception as err:  # offline, missing path, no access...
            raise UsageError(f"-m gpu: --model {model}: cannot be loaded ({type(err).__name__}: {str(err).splitlines()[0]})") from None
    return load_recipe("gpu", model=model, tokenizer=OFFLINE_QWEN2 if model in PRESETS else model,
                       data_dir=config.getoption("--data-dir"), device=device, dtype=config.getoption("--dtype"))


@pytest.fixture(scope="session")
def recipe_for(pytestconfig):
    """The Recipe of a name, with --data-dir applied (and the gpu one pointed at --model, --device)."""
    cache = {}

    def resolve(name: str):
        if name not in cache:
            try:
                recipe = (_real_model_recipe(pytestconfig) if name == "gpu"
                          else load_recipe(name, data_dir=pytestconfig.getoption("--data-dir")))
                cache[name] = recipe.with_steps(pytestconfig.getoption("--steps"))
            except UsageError as err:
                pytest.exit(f"error: {err}", returncode=pytest.ExitCode.USAGE_ERROR)
        return cache[name]

    return resolve


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from fraudft.results.table import markdown_table

    session = getattr(config, "_fraudft_session", None)
    if not session or not session["records"]:
        return
    records = list(session["records"].values())
    terminalreporter.section("fraudft results")
    terminalreporter.write_line(markdown_table(records))
    if session["reused"]:
        terminalreporter.write_line(f"{len(session['reused'])} record(s) of this commit reused (pass --rerun to run them again)")
    for key, arm, verdict in session["verdicts"]:
        interval = (f"delta {verdict['delta']:+.3f} [{verdict['low']:+.3f}, {verdict['high']:+.3f}]"
                    if verdict["delta"] is not None else f"undefined ({verdict['undefined']})")
        terminalreporter.write_line(f"{key} {arm} {verdict['kind']} {verdict['other']} on {verdict['metric']}: "
                                    f"{interval} -> {verdict['verdict']}")
    for path in sorted({str(Path(r["path"]).parent) for r in records if "path" in r}):
        terminalreporter.write_line(f"records written under {path}/")


@pytest.fixture(scope="session", autouse=True)
def _expose_session(pytestconfig, session_records):
    pytestconfig._fraudft_session = session_records
