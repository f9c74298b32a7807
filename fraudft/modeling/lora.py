"""LoRA settings, validated, and the adapters they put on a model.

    from fraudft.modeling.lora import LoraSettings, add_lora
    model = add_lora(load_model("tiny"), LoraSettings(r=8, alpha=16, dropout=0.05))

`target_modules` None (the default): the model family's targets (fraudft.modeling.families; every
projection of a decoder layer, for Qwen2 REFERENCE_TARGET_MODULES). add_lora checks the targets
against the model (a name matching no module is a UsageError) and `adapted_modules` tells, from
the peft model, which modules really got LoRA. peft is imported only where an adapter is built, so
arms and configs load without it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass

from fraudft.modeling.families import FAMILIES, adapted_modules, lora_targets

REFERENCE_TARGET_MODULES = FAMILIES["qwen2"].target_modules
__all__ = ["REFERENCE_TARGET_MODULES", "LoraSettings", "add_lora", "adapted_modules", "parameter_counts"]


@dataclass(frozen=True)
class LoraSettings:
    """A validated LoRA configuration; `scale` is what multiplies the low-rank update."""

    r: int = 8
    alpha: float = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] | None = None  # None: the model family's
    rslora: bool = False

    def __post_init__(self):
        if not isinstance(self.r, int) or self.r < 1:
            raise ValueError(f"r: got {self.r!r}, expected a positive integer")
        if not self.alpha > 0:
            raise ValueError(f"alpha: got {self.alpha!r}, expected a positive number")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: got {self.dropout!r}, expected a number in [0, 1)")
        if self.target_modules is not None:
            if not self.target_modules or not all(isinstance(m, str) and m for m in self.target_modules):
                raise ValueError(f"target_modules: got {self.target_modules!r}, expected module names")
            object.__setattr__(self, "target_modules", tuple(self.target_modules))

    @property
    def scale(self) -> float:
        """alpha / r, or alpha / sqrt(r) with rsLoRA."""
        return self.alpha / (math.sqrt(self.r) if self.rslora else self.r)

    def to_dict(self) -> dict:
        targets = None if self.target_modules is None else list(self.target_modules)
        return {**asdict(self), "target_modules": targets, "scale": self.scale}

    def peft_config(self):
        """The equivalent peft.LoraConfig."""
        from peft import LoraConfig, TaskType

        return LoraConfig(
            task_type=TaskType.CAUSAL_LM, r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
            target_modules=None if self.target_modules is None else list(self.target_modules), use_rslora=self.rslora,
        )


def add_lora(model, settings: LoraSettings):
    """Wrap a model with trainable LoRA adapters (the base weights are frozen), on the targets
    fraudft.modeling.families.lora_targets resolves and checks for this model."""
    from peft import get_peft_model

    config = dataclasses.replace(settings.peft_config(), target_modules=lora_targets(model, settings.target_modules))
    return get_peft_model(model, config)


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, all) parameters, as peft's print_trainable_parameters counts them."""
    return model.get_nb_trainable_parameters()
