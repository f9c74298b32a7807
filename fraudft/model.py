"""Causal LMs and their LoRA adapters.

    from fraudft.model import LoraSettings, load_model, add_lora
    model = add_lora(load_model("tiny"), LoraSettings(r=8, alpha=16, dropout=0.05))

Built-in presets need no download: `tiny` (a randomly initialised Qwen2 with the real 151,936
vocabulary and a few million parameters, for CPU) and `qwen2-1.5b-arch` (the Qwen2-1.5B-Instruct
configuration of REFERENCE §4 with random weights, for GPU throughput and memory benchmarks).
Anything else is a local path or a hub id, loaded in bf16 on GPU and fp32 on CPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

QWEN2_VOCAB = 151936
REFERENCE_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
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
        model = AutoModelForCausalLM.from_pretrained(
            name_or_path, dtype=dtype, trust_remote_code=trust_remote_code
        ).to(device)
    return model


@dataclass(frozen=True)
class LoraSettings:
    """A validated LoRA configuration; `scale` is what multiplies the low-rank update."""

    r: int = 8
    alpha: float = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = REFERENCE_TARGET_MODULES
    rslora: bool = False

    def __post_init__(self):
        if not isinstance(self.r, int) or self.r < 1:
            raise ValueError(f"r: got {self.r!r}, expected a positive integer")
        if not self.alpha > 0:
            raise ValueError(f"alpha: got {self.alpha!r}, expected a positive number")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: got {self.dropout!r}, expected a number in [0, 1)")
        if not self.target_modules or not all(isinstance(m, str) and m for m in self.target_modules):
            raise ValueError(f"target_modules: got {self.target_modules!r}, expected module names")
        object.__setattr__(self, "target_modules", tuple(self.target_modules))

    @property
    def scale(self) -> float:
        """alpha / r, or alpha / sqrt(r) with rsLoRA."""
        return self.alpha / (math.sqrt(self.r) if self.rslora else self.r)

    def to_dict(self) -> dict:
        return {**asdict(self), "target_modules": list(self.target_modules), "scale": self.scale}

    def peft_config(self) -> LoraConfig:
        return LoraConfig(
            task_type=TaskType.CAUSAL_LM, r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
            target_modules=list(self.target_modules), use_rslora=self.rslora,
        )


def add_lora(model, settings: LoraSettings):
    """Wrap a model with trainable LoRA adapters (the base weights are frozen)."""
    return get_peft_model(model, settings.peft_config())


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, all) parameters, as peft's print_trainable_parameters counts them."""
    return model.get_nb_trainable_parameters()
