"""Command-line options for the benchmark (`pytest bench`); see README.md.

    pytest bench                      # the ablation grid on CPU: tiny model, synthetic data
    pytest bench -m gpu --model PATH --data-dir DIR --seeds 3
"""

import os


def pytest_addoption(parser):
    group = parser.getgroup("fraudft", "fraudft benchmark")
    group.addoption("--model", default=os.environ.get("FRAUDFT_MODEL", "Qwen/Qwen2-1.5B-Instruct"),
                    help="model of the gpu recipe: a local path or hub id (env FRAUDFT_MODEL)")
    group.addoption("--data-dir", default=os.environ.get("FRAUDFT_DATA_DIR"),
                    help="folder with train.jsonl, eval.jsonl, test.jsonl for every recipe (synthetic when absent)")
    group.addoption("--seeds", type=int, default=1, help="seeds per arm (bootstrap intervals pool them)")
    group.addoption("--results-dir", default=os.environ.get("FRAUDFT_RESULTS", "results"),
                    help="where results records are written, one folder per commit")
    group.addoption("--arms", default=None, help="comma-separated arm names to run (default: all)")
    group.addoption("--device", default=None, choices=["cpu", "cuda"],
                    help="the gpu recipe's device (default cuda; cpu runs the real-model path slowly)")
    group.addoption("--dtype", default=None, choices=["auto", "bf16", "fp32"], help="the gpu recipe's dtype")
    group.addoption("--steps", type=int, default=None,
                    help="override the recipe's training step budget (e.g. a quick check of the real-model path)")
    group.addoption("--rerun", action="store_true",
                    help="run every arm again, even where this commit already has a successful record")
