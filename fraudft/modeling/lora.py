"""LoRA settings: peft.LoraConfig's keyword arguments, whole, and the adapters they put on a model.

    from fraudft.modeling.lora import LoraSettings, add_lora
    settings = LoraSettings(r=8, lora_alpha=16, use_dora=True)    # any LoraConfig field
    model = add_lora(load_model("tiny"), settings)

Every keyword argument goes to `peft.LoraConfig` as given (task_type defaults to CAUSAL_LM); fraudft's
defaults are the reference's r 8, lora_alpha 16, lora_dropout 0.05, without rsLoRA, and
`target_modules` None: the model family's targets (fraudft.modeling.families; every projection of a
decoder layer, for Qwen2 REFERENCE_TARGET_MODULES, which the built-in arms name explicitly). add_lora
checks the targets against the model (a name matching no module is a UsageError), and
`adapted_modules` tells, from the peft model, which modules really got LoRA. The old spellings `alpha`, `dropout` and `rslora` are read as lora_alpha, lora_dropout and
use_rslora (older arms files and records); settings are written with peft's names.

Constructing LoraSettings checks the fields fraudft reads (r, lora_alpha, lora_dropout,
target_modules: the scale and the FLOPs use them) without importing peft, so arms load fast;
`check()` builds peft's own LoraConfig (imported then), which validates every field, and is what a
run does before it trains (fraudft.experiment.arms.check_arms, add_lora).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math

from fraudft.modeling.families import FAMILIES, adapted_modules, lora_targets

REFERENCE_TARGET_MODULES = FAMILIES["qwen2"].target_modules
__all__ = ["REFERENCE_TARGET_MODULES", "LoraSettings", "add_lora", "adapted_modules", "parameter_counts", "peft_names"]
ALIASES = {"alpha": "lora_alpha", "dropout": "lora_dropout", "rslora": "use_rslora"}  # old spelling -> peft's
DEFAULTS = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": None,  # None: the family's
            "use_rslora": False}


def peft_names(settings: dict) -> dict:
    """`settings` with the old spellings (alpha, dropout, rslora) renamed to peft's; ValueError when
    both spellings of one field are given."""
    out = {}
    for name, value in settings.items():
        new = ALIASES.get(name, name)
        if new in out:
            raise ValueError(f"{name}: given twice (as {name} and {new}); use {new}")
        out[new] = value
    return out


class LoraSettings:
    """peft.LoraConfig's keyword arguments over fraudft's defaults; `scale` multiplies the low-rank update."""

    __slots__ = ("_kwargs",)

    def __init__(self, **kwargs):
        kwargs = {**DEFAULTS, **peft_names(kwargs)}
        r, alpha, dropout = kwargs["r"], kwargs["lora_alpha"], kwargs["lora_dropout"]
        if isinstance(r, bool) or not isinstance(r, int) or r < 1:
            raise ValueError(f"r: got {r!r}, expected a positive integer")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"lora_alpha: got {alpha!r}, expected a positive number")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"lora_dropout: got {dropout!r}, expected a number in [0, 1)")
        targets = kwargs["target_modules"]
        if isinstance(targets, (list, tuple)):  # peft also takes a regex string, or "all-linear"
            if not targets or not all(isinstance(m, str) and m for m in targets):
                raise ValueError(f"target_modules: got {targets!r}, expected module names")
            kwargs["target_modules"] = tuple(targets)
        elif targets is not None and (not isinstance(targets, str) or not targets):
            raise ValueError(f"target_modules: got {targets!r}, expected module names or a regular expression")
        object.__setattr__(self, "_kwargs", kwargs)

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    @property
    def r(self) -> int:
        return self._kwargs["r"]

    @property
    def alpha(self) -> float:
        return self._kwargs["lora_alpha"]

    @property
    def dropout(self) -> float:
        return self._kwargs["lora_dropout"]

    @property
    def rslora(self) -> bool:
        return bool(self._kwargs["use_rslora"])

    @property
    def target_modules(self) -> tuple[str, ...] | str:
        return self._kwargs["target_modules"]

    def get(self, name: str, default=None):
        """The value of one LoraConfig keyword argument as given (or fraudft's default), else `default`."""
        return self._kwargs.get(ALIASES.get(name, name), default)

    @property
    def scale(self) -> float:
        """alpha / r, or alpha / sqrt(r) with rsLoRA."""
        return self.alpha / (math.sqrt(self.r) if self.rslora else self.r)

    def kwargs(self) -> dict:
        """The LoraConfig keyword arguments, as plain JSON values (target_modules a list)."""
        return json.loads(json.dumps(self._kwargs))

    def to_dict(self) -> dict:
        return {**self.kwargs(), "scale": self.scale}

    def replace(self, **changes) -> LoraSettings:
        return LoraSettings(**{**self._kwargs, **peft_names(changes)})

    def peft_config(self):
        """The peft.LoraConfig of these settings; ValueError `FIELD: ...` when peft refuses one."""
        from peft import LoraConfig, TaskType

        known = {f.name for f in dataclasses.fields(LoraConfig) if f.init}
        for name in self._kwargs:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ValueError(f"{name}: unknown LoraConfig field{hint}")
        kwargs = {**self.kwargs(), "target_modules": _targets(self.target_modules)}
        kwargs.setdefault("task_type", TaskType.CAUSAL_LM)
        try:
            return LoraConfig(**kwargs)
        except (TypeError, ValueError) as err:
            raise ValueError(f"LoraConfig refused {_given(self._kwargs)}: {err}") from None

    def check(self) -> None:
        """ValueError (one line) unless peft's LoraConfig accepts every field."""
        self.peft_config()

    def __eq__(self, other):
        return isinstance(other, LoraSettings) and self.kwargs() == other.kwargs()

    def __hash__(self):
        return hash(json.dumps(self.kwargs(), sort_keys=True))

    def __repr__(self):
        return f"LoraSettings({', '.join(f'{k}={v!r}' for k, v in self._kwargs.items())})"


def _targets(targets):
    return list(targets) if isinstance(targets, tuple) else targets


def _given(kwargs: dict) -> str:
    """The settings that are not fraudft's defaults, for an error line."""
    changed = {k: v for k, v in kwargs.items() if DEFAULTS.get(k, object()) != v}
    return ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "the defaults"


def add_lora(model, settings: LoraSettings):
    """Wrap a model with trainable LoRA adapters (the base weights are frozen), on the targets
    fraudft.modeling.families.lora_targets resolves and checks for this model."""
    from peft import get_peft_model

    config = dataclasses.replace(settings.peft_config(), target_modules=lora_targets(model, settings.target_modules))
    return get_peft_model(model, config)


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, all) parameters, as peft's print_trainable_parameters counts them."""
    return model.get_nb_trainable_parameters()
