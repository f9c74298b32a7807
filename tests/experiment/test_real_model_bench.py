"""The real-model recipe (`pytest bench -m gpu`) proven without a GPU: a checkpoint folder, the
user's data folder, `--device cpu`, fp32 and bf16, records filed under a key naming the model.

    pytest bench -m gpu --model FOLDER --data-dir DIR --device cpu --steps 2 --arms untuned,reference
"""

import subprocess
import sys
from pathlib import Path

import pytest

from fraudft.results.store import load_records

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args, results: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider", "-m", "gpu",
               "--results-dir", str(results), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_the_gpu_recipe_runs_a_checkpoint_folder_on_cpu(tiny_checkpoint, small_data_dir, tmp_path, dtype):
    done = _bench("--model", tiny_checkpoint, "--data-dir", small_data_dir, "--device", "cpu", "--dtype", dtype,
                  "--steps", 2, "--arms", "untuned,reference", "--rerun", results=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (commit,) = [p.name for p in tmp_path.iterdir()]
    records = load_records(tmp_path, commit)
    key = f"gpu-{tiny_checkpoint.name.lower().replace('_', '-')}-cpu-on-{small_data_dir.name.lower().replace('_', '-')}"
    assert {(r.recipe, r.arm) for r in records} == {(key, "untuned"), (key, "reference")}
    reference = next(r for r in records if r.arm == "reference")
    config = reference.config["backend"]
    assert (config["model"], config["tokenizer"], config["dtype"]) == (str(tiny_checkpoint), str(tiny_checkpoint), dtype)
    assert reference.steps == 2 and reference.config["data"]["source"] == str(small_data_dir)
    table = subprocess.run([sys.executable, "-m", "fraudft.cli", "results", "table", commit, "--results-dir", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True)
    assert table.returncode == 0 and f"| {key} | reference |" in table.stdout


def test_the_gpu_recipe_without_cuda_is_an_error_not_a_skip(tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = _bench("--model", "tiny", "--arms", "untuned", results=tmp_path)
    assert done.returncode != 0 and "no CUDA device here; pass --device cpu" in done.stdout + done.stderr


def test_a_model_that_cannot_be_loaded_is_an_error(tmp_path):
    done = _bench("--model", tmp_path / "no-such-model", "--device", "cpu", "--arms", "untuned", results=tmp_path)
    assert done.returncode != 0 and "cannot be loaded" in done.stdout + done.stderr

