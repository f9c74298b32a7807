"""Causal LMs: built-in presets and pretrained checkpoints.

    from fraudft.modeling.models import load_model
    model = load_model("tiny")

Built-in presets need no download: `tiny` (a randomly initialised Qwen2 with the real 151,936
vocabulary and a few million parameters, for CPU) and `qwen2-1.5b-arch` (the Qwen2-1.5B-Instruct
configuration of REFERENCE §4 with random weights, for GPU throughput and memory benchmarks).
Anything else is a local folder or a hub id, loaded in bf16 on GPU and fp32 on CPU. A folder must
hold a transformers config and safetensors weights (pickled `.bin` weights are refused), and code
shipped with a checkpoint runs only with trust_remote_code=True; otherwise a UsageError names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

from fraudft.core.errors import UsageError

QWEN2_VOCAB = 151936
PRESETS = {
    "tiny": dict(
        hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=4096, initializer_range=0.1,
    ),
    "qwen2-1.5b-arch": dict(
        hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, max_position_embeddings=32768, max_window_layers=21,
    ),
}
# With the LM head tied to frozen random embeddings and a final RMSNorm, a logit can reach about
# std * hidden_size; at the usual std 0.02 the tiny model cannot become confident in any answer
# token through LoRA. A wider embedding lets it learn like a pretrained model would.
EMBEDDING_STD = {"tiny": 0.4}


def preset_config(name: str) -> Qwen2Config:
    """The Qwen2 configuration of a built-in preset."""
    return Qwen2Config(
        vocab_size=QWEN2_VOCAB, tie_word_embeddings=True, rope_theta=1_000_000.0, rms_norm_eps=1e-6,
        bos_token_id=151643, eos_token_id=151645, **PRESETS[name],
    )


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model(
    name_or_path: str,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    seed: int = 0,
    trust_remote_code: bool = False,
):
    """A preset built from scratch (seeded), or a pretrained model from a path or hub id.

    dtype defaults to bf16 on CUDA and fp32 elsewhere.
    """
    device = torch.device(device) if device is not None else default_device()
    dtype = dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)
    if name_or_path in PRESETS:
        torch.manual_seed(seed)
        config = preset_config(name_or_path)
        with torch.device(device):
            model = Qwen2ForCausalLM(config).to(dtype)
        if name_or_path in EMBEDDING_STD and device.type != "meta":
            torch.nn.init.normal_(model.get_input_embeddings().weight, std=EMBEDDING_STD[name_or_path])
    else:
        check_model_name(name_or_path, trust_remote_code=trust_remote_code)
        try:
            model = AutoModelForCausalLM.from_pretrained(
                name_or_path, dtype=dtype, trust_remote_code=trust_remote_code, use_safetensors=True
            ).to(device)
        except OSError as err:  # transformers' own: no such repo, no access, no weights, offline...
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UsageError(f"{name_or_path}: cannot be loaded from the hub ({first})") from None
    return model


def check_model_name(name: str, option: str = "model", trust_remote_code: bool = False) -> None:
    """A one-line UsageError, before any hub request, unless `name` is a preset, a model folder, or
    a hub id (`owner/name`) that can resolve: in the local cache when the hub is offline
    (HF_HUB_OFFLINE). A name without `/` that is neither a preset nor a folder is not looked up
    on the hub (no retries): the presets are listed, close matches first."""
    import difflib

    from huggingface_hub import is_offline_mode, try_to_load_from_cache

    if name in PRESETS:
        return
    if Path(name).exists() or _looks_like_a_path(name):
        check_model_folder(Path(name), trust_remote_code)
        return
    close = difflib.get_close_matches(name, list(PRESETS), n=3, cutoff=0.6)
    known = close + [p for p in PRESETS if p not in close]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    if "/" not in name:
        raise UsageError(f"{option}: {name!r} is no preset, model folder or hub id (owner/name){hint}; "
                         f"expected a preset ({', '.join(known)}), a folder or a hub id")
    if is_offline_mode() and not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise UsageError(f"{option}: {name!r} is not in the local hub cache and the hub is offline (HF_HUB_OFFLINE); "
                         f"expected a preset ({', '.join(known)}), a model folder or a cached hub id")


def _looks_like_a_path(name: str) -> bool:
    """A hub id is `name` or `owner/name`; anything else is meant as a local path."""
    return name.startswith(("/", ".")) or name.count("/") > 1


def check_model_folder(folder: Path, trust_remote_code: bool = False) -> None:
    """Raise a one-line UsageError unless `folder` holds a loadable causal-LM checkpoint."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such model folder, expected a preset ({', '.join(PRESETS)}), a folder or a hub id")
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise UsageError(f"{folder}: no config.json, expected a transformers model folder (save_pretrained)")
    if not any(folder.glob("*.safetensors")):
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth"))
        if pickled:
            raise UsageError(f"{folder}: only pickled weights ({', '.join(pickled)}), expected *.safetensors "
                             "(re-save the model with save_pretrained)")
        raise UsageError(f"{folder}: no weights, expected *.safetensors next to config.json")
    auto_map = json.loads(config_file.read_text(encoding="utf-8")).get("auto_map")
    if auto_map and not trust_remote_code:
        raise UsageError(f"{folder}: the checkpoint ships its own model code ({', '.join(auto_map)}); "
                         "pass --trust-remote-code only if you trust it")
