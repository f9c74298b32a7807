"""The prepared GPU check: training throughput and peak memory on the Qwen2-1.5B architecture
(label-position vs full-logit loss, with and without gradient checkpointing), evaluation speed in
score and generate mode. Records go to results/<commit>/gpu-check/.

    python bench/gpu_check.py                       # on one GPU, fits in about 8 minutes on an H100
    python bench/gpu_check.py --model tiny --steps 2 --n 32   # a quick dry run on CPU
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import torch

from fraudft.evaluate import EvalConfig, evaluate
from fraudft.modeling.lora import LoraSettings
from fraudft.modeling.models import load_model
from fraudft.modeling.tokenizer import load_tokenizer
from fraudft.results.store import git_state, meta_info, run_info, write_json_atomic
from fraudft.synthetic import SynthConfig, generate
from fraudft.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2-1.5b-arch")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--n", type=int, default=400, help="synthetic training records")
    parser.add_argument("--results-dir", default="results")
    args = parser.parse_args()
    tokenizer = load_tokenizer("qwen2-offline")
    train_records = generate(SynthConfig(n=args.n, seed=1))
    eval_records = generate(SynthConfig(n=64, seed=2))
    base = TrainConfig(batch_size=4, grad_accum=4, max_steps=args.steps, learning_rate=1e-4, eval_steps=args.steps,
                       early_stopping_patience=None, load_best_model_at_end=False, max_length=1024, progress=False)
    folder = Path(args.results_dir) / git_state()["commit"] / "gpu-check"
    variants = [("label_positions", True), ("full", True), ("label_positions", False), ("full", False)]
    for loss, checkpointing in variants:
        name = f"train-{loss}-{'gc' if checkpointing else 'nogc'}"
        config = dataclasses.replace(base, loss=loss, gradient_checkpointing=checkpointing)
        record = {"check": name, "run_info": run_info({"model": args.model, "train": dataclasses.asdict(config)}),
                  "meta_info": meta_info()}
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            model = load_model(args.model)
            with tempfile.TemporaryDirectory() as out:
                model, stats = train(model, tokenizer, train_records, eval_records, LoraSettings(), config, out)
            record["train_info"] = {"status": "success", **stats.to_dict()}
            print(f"{name}: {stats.tokens_per_s:.0f} tokens/s, {stats.samples_per_s:.1f} samples/s, {stats.peak_memory}")
            if (loss, checkpointing) == ("label_positions", True):
                for mode in ("score", "generate"):
                    result = evaluate(model, tokenizer, eval_records, EvalConfig(mode=mode, batch_size=32, progress=False))
                    record[f"eval_{mode}"] = {"examples_per_s": result["examples_per_s"], "seconds": result["seconds"]}
                    print(f"  evaluate {mode}: {result['examples_per_s']:.1f} examples/s")
            del model
        except Exception as err:  # record the failure (e.g. out of memory without checkpointing) and go on
            record["train_info"] = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
            print(f"{name}: failed: {err}")
        write_json_atomic(record, folder / f"{name}.json")
    print(f"records written under {folder}/")


if __name__ == "__main__":
    main()
