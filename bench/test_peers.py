"""fraudft beside TRL's SFTTrainer: same tiny model, encoded examples, LoRA, steps, batch, lr, seed.

    pytest bench -m peers -s          # about 3 minutes on the 2-core CPU; needs `pip install -e .[peers]`

Variants: fraudft (label-position loss, its default padding-free batches), fraudft with the full
loss, and trl.SFTTrainer (completion-only loss from a `completion_mask`, its own collator). Each
runs in a fresh subprocess, so its peak memory is its own (CUDA peak allocated on a GPU, where it
runs in bf16; peak RSS on CPU), then scores the test records. The record lands in
results/<commit>/peers-<device>/peers.json and a table is printed. A first test proves that both
trainers see the same input ids, labels and initial LoRA weights. Asserted: fraudft at least as fast
and no larger than TRL, faster than its own full loss, and its MCC not significantly below TRL's
(paired bootstrap over the test records, fraudft.metrics.stats).

On CPU, TRL's fused LM head scores every position over the full vocabulary (with its entropy and
top-1 logging): its label-only path needs Triton (CUDA/XPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.peers
trl = pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[1]
SEED, STEPS, BATCH, LR, MAX_LENGTH, N_TRAIN, N_EVAL, N_TEST = 0, 16, 4, 3e-3, 512, 64, 16, 200
CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"
VARIANTS = ("fraudft", "fraudft-full-loss", "trl-sft")
CPU_NOTE = ("On CPU TRL's fused LM head computes logits over the full vocabulary at every position, with its "
            "entropy/accuracy logging; its label-only path needs Triton (CUDA/XPU).")


def _setup():
    from fraudft.modeling.encode import EncodeConfig, Encoder
    from fraudft.modeling.lora import LoraSettings
    from fraudft.modeling.tokenizer import load_tokenizer
    from fraudft.synthetic import SynthConfig, generate

    tokenizer = load_tokenizer("qwen2-offline")
    train_records = generate(SynthConfig(n=N_TRAIN, seed=1))
    eval_records = generate(SynthConfig(n=N_EVAL, seed=2))
    encoder = Encoder(tokenizer, EncodeConfig(max_length=MAX_LENGTH))
    return tokenizer, train_records, eval_records, encoder, LoraSettings(dropout=0.0)  # no dropout: same trajectory


def _test_records() -> list[dict]:
    from fraudft.synthetic import SynthConfig, generate

    return generate(SynthConfig(n=N_TEST, seed=3))


def _lora_model(lora):
    """The tiny model with LoRA initialised from SEED (as fraudft.engine.train does after seeding)."""
    from fraudft.modeling.lora import add_lora
    from fraudft.modeling.models import load_model

    model = load_model("tiny", seed=SEED)  # bf16 on CUDA, fp32 on CPU
    torch.manual_seed(SEED)
    return add_lora(model, lora)


def _trl_trainer(model, tokenizer, encoded, out: str):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = [{"input_ids": e["input_ids"], "completion_mask": [int(y != -100) for y in e["labels"]]} for e in encoded]
    args = SFTConfig(
        output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=1, max_steps=STEPS,
        learning_rate=LR, lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, seed=SEED, data_seed=SEED,
        completion_only_loss=True, max_length=None, eval_strategy="no", save_strategy="no", logging_steps=STEPS // 2,
        report_to="none", use_cpu=not CUDA, gradient_checkpointing=False, disable_tqdm=True, bf16=CUDA,
    )
    return SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)


def _eval_loss(model, encoded) -> float:
    """Mean label-position loss of the trained adapters on the eval examples (one function for all)."""
    from fraudft.modeling.collate import Collator
    from fraudft.modeling.loss import label_position_loss
    from fraudft.modeling.tokenizer import load_tokenizer

    model.eval()
    with torch.no_grad():
        return label_position_loss(model, Collator(load_tokenizer("qwen2-offline"))(encoded)).item()


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _test_predictions(model, tokenizer) -> list[bool]:
    """Score-mode predictions of the trained adapters on the test records (one evaluation for all)."""
    from fraudft.engine.evaluate import EvalConfig, evaluate

    return [bool(p) for p in evaluate(model, tokenizer, _test_records(), EvalConfig(progress=False))["predictions"]]


def run_variant(name: str) -> dict:
    """Train one variant in this process; return its figures."""
    from fraudft.engine.measure import peak_memory, synchronize
    from fraudft.results.table import peak_bytes

    torch.set_num_threads(1)
    tokenizer, train_records, eval_records, encoder, lora = _setup()
    encoded, eval_encoded = encoder.encode_all(train_records), encoder.encode_all(eval_records)
    tokens = sum(len(e["input_ids"]) for e in encoded)  # STEPS x BATCH = one epoch: every example once
    with tempfile.TemporaryDirectory() as out:
        if name.startswith("fraudft"):
            from fraudft.modeling.models import load_model
            from fraudft.engine.train import train
            from fraudft.engine.train_config import TrainConfig

            config = TrainConfig(batch_size=BATCH, grad_accum=1, max_steps=STEPS, learning_rate=LR, eval_steps=STEPS,
                                 early_stopping_patience=None, load_best_model_at_end=False, max_length=MAX_LENGTH,
                                 gradient_checkpointing=False, seed=SEED, progress=False,
                                 loss="full" if name.endswith("full-loss") else "label_positions")
            model = load_model("tiny", seed=SEED)
            rss_before = _rss()
            torch.manual_seed(SEED)  # the LoRA init, as in _lora_model
            model, stats = train(model, tokenizer, train_records, eval_records, lora, config, out)
            seconds, losses, extra = stats.train_seconds, [h["loss"] for h in stats.log_history if "loss" in h], {
                "batching": stats.batching, "padding_fraction": stats.padding_fraction, "model_flops": stats.model_flops}
        else:
            model = _lora_model(lora)
            trainer = _trl_trainer(model, tokenizer, encoded, out)
            rss_before = _rss()
            if CUDA:
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            trainer.train()
            synchronize()
            seconds = time.perf_counter() - start
            losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
            extra = {"batching": "padded (TRL DataCollatorForLanguageModeling)", "trl": trl.__version__,
                     **({} if CUDA else {"note": CPU_NOTE})}
    peak = peak_bytes({"peak_memory": peak_memory()})[1]  # CUDA peak allocated, else the process's peak RSS
    return {"variant": name, "device": DEVICE, "train_seconds": seconds, "tokens": tokens,
            "tokens_per_s": tokens / seconds, "peak_memory_bytes": peak,
            "train_rss_increase_bytes": None if CUDA else peak - rss_before, "train_losses": losses,
            "eval_loss": _eval_loss(model, eval_encoded), "test_predictions": _test_predictions(model, tokenizer),
            **extra}


def test_fraudft_and_trl_see_the_same_inputs_labels_and_lora_init(monkeypatch):
    import fraudft.engine.train
    from fraudft.modeling.collate import Collator
    from fraudft.modeling.models import load_model

    tokenizer, train_records, eval_records, encoder, lora = _setup()
    encoded = encoder.encode_all(train_records[:8])
    with tempfile.TemporaryDirectory() as out:
        trainer = _trl_trainer(_lora_model(lora), tokenizer, encoded, out)
        trl_batch = trainer.data_collator([trainer.train_dataset[i] for i in range(BATCH)])
        ours = Collator(tokenizer, side="right")(encoded[:BATCH])
        assert torch.equal(trl_batch["input_ids"] * ours["attention_mask"], ours["input_ids"] * ours["attention_mask"])
        assert torch.equal(trl_batch["labels"], ours["labels"])
        assert torch.equal(trl_batch["attention_mask"], ours["attention_mask"])

        captured = {}

        def capture(model, settings):  # fraudft.engine.train's own add_lora call, stopped right after it
            wrapped = add_lora(model, settings)
            captured.update({k: v.clone() for k, v in wrapped.state_dict().items() if "lora_" in k})
            raise KeyboardInterrupt

        add_lora = fraudft.engine.train.add_lora
        monkeypatch.setattr(fraudft.engine.train, "add_lora", capture)
        model = load_model("tiny", seed=SEED)
        torch.manual_seed(SEED)  # as run_variant does before train()
        with pytest.raises(KeyboardInterrupt):
            fraudft.engine.train.train(model, tokenizer, train_records[:8],
                                eval_records[:4], lora, fraudft.engine.train.TrainConfig(max_length=MAX_LENGTH), out)
        trl_lora = {k: v for k, v in trainer.model.state_dict().items() if "lora_" in k}
        assert captured.keys() == trl_lora.keys() and captured
        assert all(torch.equal(captured[k], trl_lora[k]) for k in captured)


def test_fraudft_beside_trl(results_root):
    from fraudft.results.store import git_state, meta_info, results_key, write_json_atomic
    from fraudft.metrics.stats import compare, metric_value

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    rows = {}
    for name in VARIANTS:
        done = subprocess.run([sys.executable, __file__, name], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
    labels = [record["label"] for record in _test_records()]
    ours, full, peer = rows["fraudft"], rows["fraudft-full-loss"], rows["trl-sft"]
    versus_trl = compare(labels, [ours["test_predictions"]], [peer["test_predictions"]], "mcc")
    record = {"check": f"peers-{DEVICE}",
              "setup": {"model": "tiny", "device": DEVICE, "steps": STEPS, "batch": BATCH, "lr": LR, "seed": SEED,
                        "max_length": MAX_LENGTH, "n_train": N_TRAIN, "n_test": N_TEST, "lora": "r8, dropout 0"},
              "memory": ("CUDA peak allocated" if CUDA else
                         "peak RSS of a fresh process per variant; train_rss_increase = peak - RSS before training"),
              "note": None if CUDA else CPU_NOTE, "fraudft_vs_trl_mcc": versus_trl, "variants": rows,
              "meta_info": meta_info()}
    write_json_atomic(record, results_root / results_key(git_state()) / f"peers-{DEVICE}" / "peers.json")
    print(f"\n{'variant':<20}{'tokens/s':>10}{'peak MiB':>10}{'eval loss':>11}{'test MCC':>10}")
    for r in rows.values():
        mcc = metric_value("mcc", labels, r["test_predictions"])
        print(f"{r['variant']:<20}{r['tokens_per_s']:>10.0f}{r['peak_memory_bytes'] / 2**20:>10.0f}"
              f"{r['eval_loss']:>11.4f}{'-' if mcc is None else f'{mcc:.3f}':>10}")
    print(f"fraudft - TRL, test MCC: {versus_trl}")
    assert ours["tokens_per_s"] >= peer["tokens_per_s"]
    assert ours["peak_memory_bytes"] <= peer["peak_memory_bytes"]
    assert ours["tokens_per_s"] > full["tokens_per_s"]
    assert versus_trl["undefined"] is None and versus_trl["verdict"] != "lower", versus_trl


if __name__ == "__main__":
    from fraudft.core import jsonio

    print(jsonio.dumps(run_variant(sys.argv[1])))  # strict JSON: a NaN loss as null
