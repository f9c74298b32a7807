"""The base an adapter was trained on: recorded beside it, checked wherever it is loaded.

    record = base_record(model, tokenizer, "tiny", model_seed=0, tokenizer_name="qwen2-offline")
    save_base(adapter_dir, record)              # fraudft train, beside adapter_config.json
    check_base(adapter_dir, loading, "runs/x")  # fraudft evaluate / export, before the adapter loads

A LoRA adapter is a delta on one set of base weights; on any other base (a preset at another
--model-seed, another checkpoint of the same architecture) peft loads it without a word and its
predictions are noise. peft's own `base_model_name_or_path` cannot tell: it is None for the built-in
presets and a name, not the weights, for a folder. So `fraudft train` writes SAVED_BASE:

- `model`: the --model given (a preset's name, a folder or a hub id) and `model_seed` (presets only:
  their random weights are drawn from it; None for a checkpoint);
- `weights`: weights_fingerprint, a SHA-256 over every tensor of the base's state dict (its name,
  shape and SAMPLES_PER_TENSOR evenly spaced values rounded to bf16, so the same base loaded in bf16
  on GPU or fp32 on CPU has one fingerprint; a few milliseconds, also for billions of parameters);
- `tokenizer` and `tokenizer_fingerprint`: the tokenizer's name and
  fraudft.modeling.encode.tokenizer_fingerprint, the SHA-256 of its serialised state that also keys the
  encoding cache (the backend without per-call truncation and padding, special and added tokens,
  settings, chat template).

check_base compares the fingerprints (names alone may differ: a folder moved elsewhere is the same
base) and stops with one UsageError line naming both bases, unless `allow_other` (the CLI's
--allow-other-base, for a deliberate transfer). An adapter saved before this (no SAVED_BASE) loads
with a BaseWarning saying its base cannot be checked.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch

from fraudft.core.errors import UsageError
from fraudft.modeling.encode import tokenizer_fingerprint  # the one fingerprint of a tokenizer (also the encoding cache key)

SAVED_BASE = "fraudft_base.json"  # written beside the adapter by `fraudft train`
SAMPLES_PER_TENSOR = 256
SHOWN = 12  # hex digits of a fingerprint shown in messages
FIELDS = ("model", "model_seed", "weights", "tokenizer", "tokenizer_fingerprint")


class BaseWarning(UserWarning):
    """An adapter whose base cannot be checked (saved before fraudft recorded it)."""


def weights_fingerprint(model) -> str:
    """SHA-256 (hex) of the model's state dict: each tensor's name, shape and SAMPLES_PER_TENSOR evenly
    spaced values, floating point ones rounded to bf16 (the dtype a model loads in does not change it)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().reshape(-1)
        n = flat.numel()
        digest.update(f"{name}:{tuple(tensor.shape)}:{n}:".encode())
        if n == 0 or flat.device.type == "meta":
            continue
        k = min(n, SAMPLES_PER_TENSOR)
        sample = flat[torch.arange(k, device=flat.device) * (n // k)]
        if sample.is_floating_point():
            sample = sample.to(torch.bfloat16).view(torch.int16)
        digest.update(sample.cpu().numpy().tobytes())
    return digest.hexdigest()


def base_record(model, tokenizer, model_name: str, model_seed: int | None, tokenizer_name: str) -> dict:
    """What identifies a base: model_seed only for a preset (None otherwise), see the module docstring."""
    from fraudft.modeling.models import PRESETS

    return {"model": model_name, "model_seed": model_seed if model_name in PRESETS else None,
            "weights": weights_fingerprint(model), "tokenizer": tokenizer_name,
            "tokenizer_fingerprint": tokenizer_fingerprint(tokenizer)}


def save_base(folder, record: dict) -> None:
    (Path(folder) / SAVED_BASE).write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_base(folder) -> dict | None:
    """The base recorded beside an adapter, or None where there is none (saved before fraudft wrote
    it). UsageError naming the file when it is unreadable or lacks a field."""
    path = Path(folder) / SAVED_BASE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        missing = [f for f in FIELDS if f not in record]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"{path}: {err}, expected the JSON that `fraudft train` writes") from None
    return record


def describe(record: dict, tokenizer: bool = False) -> str:
    """`tiny (model seed 0, weights 3fa2c1d0e9b4...)`; with the tokenizer when `tokenizer`."""
    parts = [] if record.get("model_seed") is None else [f"model seed {record['model_seed']}"]
    parts.append(f"weights {record['weights'][:SHOWN]}...")
    if tokenizer:
        parts.append(f"tokenizer {record['tokenizer']} {record['tokenizer_fingerprint'][:SHOWN]}...")
    return f"{record['model']} ({', '.join(parts)})"


def check_base(folder, loading: dict, given: str, allow_other: bool = False) -> dict | None:
    """Compare the base recorded beside the adapter in `folder` with `loading` (base_record of what is
    loaded). Different weights or tokenizer: UsageError (one line naming both, `given` the --adapter
    as the user wrote it) unless allow_other. No record: a BaseWarning. Returns the recorded base."""
    recorded = read_base(folder)
    if recorded is None:
        warnings.warn(f"--adapter {given}: saved without a record of its base ({SAVED_BASE}), so it cannot be "
                      f"checked against {describe(loading)}; retrain it to have it checked", BaseWarning, stacklevel=2)
        return None
    other_tokenizer = recorded["tokenizer_fingerprint"] != loading["tokenizer_fingerprint"]
    if (recorded["weights"] != loading["weights"] or other_tokenizer) and not allow_other:
        raise UsageError(f"--adapter {given}: trained on {describe(recorded, other_tokenizer)}, loading "
                         f"{describe(loading, other_tokenizer)}; pass --allow-other-base to load it anyway")
    return recorded
