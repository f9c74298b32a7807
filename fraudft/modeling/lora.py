"""LoRA settings, validated, and the adapters they put on a model.

    from fraudft.modeling.lora import LoraSettings, add_lora
    model = add_lora(load_model("tiny"), LoraSettings(r=8, alpha=16, dropout=0.05))

peft is imported only where an adapter is built, so arms and configs load without it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

REFERENCE_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


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

    def peft_config(self):
        """The equivalent peft.LoraConfig."""
        from peft import LoraConfig, TaskType

        return LoraConfig(
            task_type=TaskType.CAUSAL_LM, r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
            target_modules=list(self.target_modules), use_rslora=self.rslora,
        )


def add_lora(model, settings: LoraSettings):
    """Wrap a model with trainable LoRA adapters (the base weights are frozen)."""
    from peft import get_peft_model

    return get_peft_model(model, settings.peft_config())


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, all) parameters, as peft's print_trainable_parameters counts them."""
    return model.get_nb_trainable_parameters()
