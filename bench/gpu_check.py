"""The prepared GPU check (issue 11): training and evaluation efficiency of the Qwen2-1.5B
architecture at seed-like lengths, against three targets, in one command.

    bash bench/gpu_check.sh                         # one H100/H200, under 8 minutes
    python bench/gpu_check.py --dry-run             # tiny model, a few steps: about a minute on CPU

Training variants: label-position vs full loss; padded vs length-grouped vs padding-free batches;
gradient checkpointing on/off; torch.compile and Liger's kernels on/off (CUDA only; Liger if
installed: the GPU machine has no network, so carry its wheel); TRL's SFTTrainer beside them (if
installed; not in a dry run). Evaluation: score (token-budget batches) and generate.
One JSON record per variant under results/<commit>/gpu-check-<device>/, then a table against the
targets: >= 60,000 training tokens/s, peak memory <= 1/3 of the full-logit pipeline's at the same
batch, >= 1,000 scored examples/s; compile and Liger train with the per-step losses of the variant
without them. Absolute figures say "not measured here" without a GPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import re
import tempfile
import time
from pathlib import Path

import torch

from fraudft.engine.evaluate import EvalConfig, evaluate
from fraudft.engine.measure import peak_memory
from fraudft.modeling.lora import LoraSettings
from fraudft.modeling.models import load_model
from fraudft.modeling.tokenizer import load_tokenizer
from fraudft.results.store import git_state, meta_info, results_key, run_info, write_json_atomic
from fraudft.results.table import peak_bytes
from fraudft.synthetic import SynthConfig, generate
from fraudft.engine.train import train
from fraudft.engine.train_config import TrainConfig

TARGETS = {"train_tokens_per_s": 60_000, "memory_ratio_vs_full": 1 / 3, "score_examples_per_s": 1_000}
# (name, TrainConfig overrides): the first is fraudft's default, "full-padded-gc" the full-logit pipeline.
VARIANTS = [
    ("label-paddingfree", {}),
    ("label-padded", {"batching": "padded"}),
    ("label-lengthgrouped", {"batching": "length_grouped"}),
    ("label-paddingfree-gc", {"gradient_checkpointing": True}),
    ("full-paddingfree", {"loss": "full"}),
    ("full-padded-gc", {"loss": "full", "batching": "padded", "gradient_checkpointing": True}),
    ("label-padded-gc", {"batching": "padded", "gradient_checkpointing": True}),
    ("label-paddingfree-compile", {"compile": True}),
]
# Run last, after TRL: Liger patches transformers' Qwen2 RoPE for the rest of the process.
LIGER = ("label-paddingfree-liger", {"liger": True})
# Largest relative difference of a per-step loss from the plain variant's that counts as "the same
# loss" for compile and Liger (bf16 on GPU: other kernels round differently).
SAME_LOSS_RTOL = 0.01


def _trl_run(model_name: str, tokenizer, records, config: TrainConfig, out: str) -> dict:
    """TRL's SFTTrainer on the same encoded examples (completion-only loss), timed like fraudft."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from fraudft.modeling.encode import EncodeConfig, Encoder
    from fraudft.modeling.lora import add_lora

    encoded = Encoder(tokenizer, EncodeConfig(max_length=config.max_length)).encode_all(records)
    rows = [{"input_ids": e["input_ids"], "completion_mask": [int(y != -100) for y in e["labels"]]} for e in encoded]
    model = load_model(model_name)
    torch.manual_seed(config.seed)
    model = add_lora(model, LoraSettings())
    args = SFTConfig(output_dir=out, per_device_train_batch_size=config.batch_size,
                     gradient_accumulation_steps=config.grad_accum, max_steps=config.max_steps,
                     learning_rate=config.learning_rate, seed=config.seed, completion_only_loss=True, max_length=None,
                     eval_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True,
                     bf16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available(), gradient_checkpointing=False)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    tokens = sum(len(rows[i % len(rows)]["input_ids"]) for i in range(config.max_steps * config.batch_size * config.grad_accum))
    return {"status": "success", "train_seconds": seconds, "tokens_per_s": tokens / seconds, "peak_memory": peak_memory(),
            "note": "tokens: the examples of max_steps batches in dataset order (an estimate; TRL samples at random)"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2-1.5b-arch")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--n", type=int, default=256, help="long training records")
    parser.add_argument("--n-eval", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--dry-run", action="store_true", help="tiny model, 2 steps, short records: a CPU smoke run")
    parser.add_argument("--results-dir", default="results")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.model, args.steps, args.n, args.n_eval, args.batch_size, args.max_length = "tiny", 2, 8, 8, 2, 256
    cuda = torch.cuda.is_available()
    device = re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name().lower()).strip("-") if cuda else "cpu"
    folder = Path(args.results_dir) / results_key(git_state()) / f"gpu-check-{device}"
    tokenizer = load_tokenizer("qwen2-offline")
    # Seed-like lengths: drawn from the reference's token-length distribution (57-427 tokens, median 123)
    train_records = generate(SynthConfig(n=args.n, seed=1, lengths="reference"))
    eval_records = generate(SynthConfig(n=args.n_eval, seed=2, lengths="reference"))
    base = TrainConfig(batch_size=args.batch_size, grad_accum=1, max_steps=args.steps, eval_steps=args.steps,
                       early_stopping_patience=None, load_best_model_at_end=False, max_length=args.max_length,
                       gradient_checkpointing=False, progress=False)
    results = {}
    for name, overrides in VARIANTS + [("trl-sft", None), LIGER]:
        why = _skip_reason(name, cuda, args.dry_run)
        if why:
            results[name] = {"status": "skipped", "why": why}
            print(f"{name}: skipped ({why})")
            continue
        config = dataclasses.replace(base, **(overrides or {}))
        if cuda:
            torch.cuda.empty_cache()
        try:
            with tempfile.TemporaryDirectory() as out:
                if overrides is None:
                    results[name] = _trl_run(args.model, tokenizer, train_records, config, out)
                else:
                    model, stats = train(load_model(args.model), tokenizer, train_records, eval_records[:8],
                                         LoraSettings(), config, out)
                    results[name] = {"status": "success", **stats.to_dict()}
                    if name == VARIANTS[0][0]:
                        for mode in ("score", "generate"):
                            if cuda:
                                torch.cuda.empty_cache()
                            ev = evaluate(model, tokenizer, eval_records if mode == "score" else eval_records[:64],
                                          EvalConfig(mode=mode, max_length=args.max_length, progress=False))
                            kept = ("examples_per_s", "seconds", "peak_memory", "truncated", "tokens_removed", "cut")
                            results[f"eval-{mode}"] = {"status": "success", **{k: ev[k] for k in kept if k in ev}}
                    del model
        except Exception as err:  # record the failure (e.g. out of memory) and go on
            results[name] = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
        for key in [k for k in results if k == name or (name == VARIANTS[0][0] and k.startswith("eval-"))]:
            r = results[key]
            write_json_atomic({"check": key, "device": device, "run_info": run_info({"model": args.model,
                               "train": dataclasses.asdict(config)}), "result": r, "meta_info": meta_info()},
                              folder / f"{key}.json")
            print(f"{key}: {r.get('tokens_per_s', r.get('examples_per_s', '-'))} per s, {r.get('status')} "
                  f"{r.get('error', '')}")
    print(table(results, cuda))
    print(f"records written under {folder}/")


def _skip_reason(name: str, cuda: bool, dry_run: bool) -> str | None:
    if name.endswith(("compile", "liger")) and not cuda:
        return f"{name.rsplit('-', 1)[1]} needs CUDA"
    if name == "trl-sft" and dry_run:
        return "TRL is left out of the dry run"
    if name == LIGER[0] and importlib.util.find_spec("liger_kernel") is None:
        return "liger-kernel is not installed (pip install 'fraudft[liger]', or its wheel)"
    return None


def _losses(result: dict) -> list[float]:
    return [entry["loss"] for entry in result.get("log_history", []) if "loss" in entry]


def loss_difference(results: dict, name: str) -> float | None:
    """The largest relative difference of `name`'s per-step losses from the plain variant's."""
    plain, other = _losses(results.get(VARIANTS[0][0], {})), _losses(results.get(name, {}))
    if not plain or len(plain) != len(other):
        return None
    return max(abs(a - b) / abs(b) for a, b in zip(other, plain))


def table(results: dict, cuda: bool) -> str:
    """Each target with its figure here; absolute figures only count on a GPU."""
    def ok(name):
        return results.get(name, {}).get("status") == "success"

    best = max((r["tokens_per_s"] for n, r in results.items() if n.startswith("label") and ok(n)), default=None)
    ours, full = results.get(VARIANTS[0][0], {}), results.get("full-padded-gc", {})
    ratio = (peak_bytes(ours)[1] / peak_bytes(full)[1]
             if ok(VARIANTS[0][0]) and ok("full-padded-gc") else None)
    score = results.get("eval-score", {}).get("examples_per_s")
    rows = [("training tokens/s (best label-position variant)", best, TARGETS["train_tokens_per_s"], True),
            ("peak memory / full-logit pipeline's", ratio, TARGETS["memory_ratio_vs_full"], False),
            ("score-mode examples/s", score, TARGETS["score_examples_per_s"], True),
            ("compile: per-step loss, largest relative difference", loss_difference(results, VARIANTS[-1][0]),
             SAME_LOSS_RTOL, False),
            ("liger: per-step loss, largest relative difference", loss_difference(results, LIGER[0]),
             SAME_LOSS_RTOL, False)]
    lines = [f"{'target':<52}{'measured':>14}{'goal':>10}  verdict"]
    for label, value, goal, higher in rows:
        if value is None or not cuda:  # CPU: process-wide RSS and a toy model, no verdict
            shown, verdict = ("-" if value is None else f"{value:.3g}"), "not measured here"
        else:
            shown, verdict = f"{value:.3g}", "met" if (value >= goal if higher else value <= goal) else "NOT met"
        lines.append(f"{label:<52}{shown:>14}{goal:>10.3g}  {verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
