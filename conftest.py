"""Command-line options for the benchmark (`pytest bench`), and how many pytest-xdist workers `-n auto`
(the default, pyproject's addopts) starts; see README.md.

    pytest bench                      # the ablation grid on CPU: tiny model, synthetic data, arms side by side
    pytest bench -m gpu --model PATH --data-dir DIR --seeds 3
    pytest bench -n 0                 # one process, in order (pytest-benchmark's table, -s output)
"""

import os


def pytest_addoption(parser):
    group = parser.getgroup("fraudft", "fraudft benchmark")
    group.addoption("--model", default=os.environ.get("FRAUDFT_MODEL", "Qwen/Qwen2-1.5B-Instruct"),
                    help="model of the gpu recipe: a local path or hub id (env FRAUDFT_MODEL)")
    group.addoption("--data-dir", default=os.environ.get("FRAUDFT_DATA_DIR"),
                    help="folder with one train, eval and test file each (.jsonl, .json, .csv or .parquet; JSONL, JSON, alpaca or "
                         "ShareGPT arrays, CSV, Parquet, detected) for every recipe (synthetic when absent)")
    group.addoption("--extra-test", action="append", default=None, metavar="NAME=PATH",
                    help="an out-of-distribution test set every arm is also scored on (evaluation extra:NAME), any "
                         "format fraudft.data.formats reads; repeatable (env FRAUDFT_EXTRA_TESTS: NAME=PATH,NAME=PATH)")
    group.addoption("--seeds", type=int, default=None,
                    help="seeds per arm (default: 3 with -m gpu, where claims are about configurations; 1 on the "
                         "CPU grid, whose verdicts are then conditional on seed 0); the bootstrap resamples them")
    group.addoption("--results-dir", default=os.environ.get("FRAUDFT_RESULTS", "results"),
                    help="where results records are written, one folder per commit")
    group.addoption("--arms", default=None, help="comma-separated arm names to run (default: all)")
    group.addoption("--arms-file", default=os.environ.get("FRAUDFT_ARMS_FILE"), metavar="TOML",
                    help="more arms, as in fraudft/configs/arms.toml; an arm named like a built-in one replaces it "
                         "(env FRAUDFT_ARMS_FILE)")
    group.addoption("--device", default=None, choices=["cpu", "cuda"],
                    help="the gpu recipe's device (default cuda; cpu runs the real-model path slowly)")
    group.addoption("--dtype", default=None, choices=["auto", "bf16", "fp32"], help="the gpu recipe's dtype")
    group.addoption("--steps", type=int, default=None,
                    help="override the recipe's training step budget (e.g. a quick check of the real-model path)")
    group.addoption("--rerun", action="store_true",
                    help="run every arm again, even where this tree state already has a successful record, and replace it")


def _selects(markexpr: str, marker: str) -> bool:
    return marker in markexpr and f"not {marker}" not in markexpr


def pytest_xdist_auto_num_workers(config):
    """Workers for `-n auto`: one per core on CPU (two tiny-model arms on one thread each ran 1.7x
    faster than one after the other on two threads, measured on the 2-core dev machine); one per GPU
    for `-m gpu` (none with fewer than two); none for `-m peers`, whose timings must run alone."""
    markexpr = config.getoption("markexpr") or ""
    if _selects(markexpr, "peers"):
        return 0
    if _selects(markexpr, "gpu"):
        import torch

        gpus = torch.cuda.device_count()
        return gpus if gpus > 1 else 0
    cores = len(os.sched_getaffinity(0))
    return cores if cores > 1 else 0
