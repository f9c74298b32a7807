"""Recipes: model, data, training and evaluation settings and their budgets, read from
fraudft/configs/recipes/NAME.toml. A recipe may `extends = "OTHER"` and override it table by table.

    from fraudft.experiment.recipes import load_recipe
    recipe = load_recipe("cpu-tiny")
    recipe = load_recipe("gpu", model="/models/qwen2-1.5b", data_dir="data/")

The `[format]` table (prompt, system_prompt, separator, answer: fraudft.modeling.taskformat.TaskFormat)
is the one place a recipe's task format is built; training and evaluation (`eval.format`) both take
it from there, and every record of the recipe records it. An [eval] table without max_new_tokens
leaves generate mode's limit to be sized from the longest trained answer (the runner does).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from fraudft.configs import read_config, recipe_names
from fraudft.core.errors import UsageError
from fraudft.engine.evaluate import EvalConfig
from fraudft.modeling.taskformat import TaskFormat
from fraudft.metrics.operating import ThresholdRule
from fraudft.engine.train_config import TrainConfig

TABLES = ("data", "train", "eval", "decision", "budgets", "format")
KEYS = {"extends", "model", "tokenizer", "model_seed", "device", "dtype", *TABLES}
DEVICES = ("cpu", "cuda")
DTYPES = ("auto", "bf16", "fp32")
SPEED_BUDGETS = ("min_relative_throughput", "device_floors")


@dataclass(frozen=True)
class Recipe:
    """What one kind of benchmark run uses; records go to the folder named by `key`."""

    name: str
    model: str
    tokenizer: str
    train: TrainConfig
    eval: EvalConfig
    synthetic: tuple[int, int, int] = (1500, 200, 400)  # train, eval, test sizes when there is no data_dir
    synthetic_seeds: tuple[int, int, int] = (1, 2, 3)  # and the generator's seeds for them
    data_dir: Path | None = None
    model_seed: int = 0
    budgets: dict = field(default_factory=dict)
    device: str = "cpu"
    dtype: str = "auto"  # auto: bf16 on CUDA, fp32 on CPU
    decision: ThresholdRule = ThresholdRule()  # [decision] threshold_rule: the operating point's rule
    # --extra-test NAME=PATH: out-of-distribution sets every arm is also scored on (evaluation `extra:NAME`)
    extra_tests: tuple[tuple[str, str], ...] = ()

    @property
    def format(self) -> TaskFormat:
        """The task format of [format] (held in eval.format, which evaluation reads)."""
        return self.eval.format

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"device: got {self.device!r}, expected one of {', '.join(DEVICES)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype: got {self.dtype!r}, expected one of {', '.join(DTYPES)}")

    @property
    def key(self) -> str:
        """The records folder: the recipe, the model, the device kind and, for a data folder, its
        name, e.g. `cpu-tiny`, `gpu-qwen2-1.5b-instruct-cuda` or `cpu-tiny-on-data-real` (a part the
        recipe's name already says is not repeated), so runs of different models, devices or data
        are never filed, or compared, as one arm."""
        parts = [self.name] + [part for part in (model_slug(self.model), self.device) if part not in self.name]
        if self.data_dir is not None:
            parts.append("on-" + model_slug(str(self.data_dir)))
        return "-".join(parts)

    def with_steps(self, steps: int | None) -> Recipe:
        """The recipe with its training step budget replaced (evaluating at the end at least).

        Another step budget voids the speed budget: a few steps measure start-up, not throughput."""
        if steps is None or steps == self.train.max_steps:
            return self
        if not isinstance(steps, int) or steps < 1:
            raise UsageError(f"steps: got {steps!r}, expected a positive number of training steps")
        train = dataclasses.replace(self.train, max_steps=steps, eval_steps=min(self.train.eval_steps, steps))
        budgets = {k: v for k, v in self.budgets.items() if k not in SPEED_BUDGETS}
        return dataclasses.replace(self, train=train, budgets=budgets)

    def to_dict(self) -> dict:
        extra = {"extra_tests": [list(t) for t in self.extra_tests]} if self.extra_tests else {}
        return {**extra, "name": self.name, "key": self.key, "device": self.device, "dtype": self.dtype, "model": self.model,
                "tokenizer": self.tokenizer,
                "train": dataclasses.asdict(self.train), "eval": dataclasses.asdict(self.eval),
                "synth_sizes": list(self.synthetic), "synth_seeds": list(self.synthetic_seeds), "data_dir": str(self.data_dir) if self.data_dir else None,
                "threshold_rule": str(self.decision), "format": self.format.to_dict()}


def model_slug(model: str) -> str:
    """A model id or folder as a short lower-case name: `Qwen/Qwen2-1.5B-Instruct` -> `qwen2-1.5b-instruct`
    (a data folder's name likewise)."""
    return re.sub(r"[^a-z0-9.]+", "-", Path(str(model).rstrip("/")).name.lower()).strip("-") or "model"


def _merged(name: str, seen: tuple[str, ...] = ()) -> dict:
    """The recipe's TOML with its `extends` chain resolved, table by table."""
    if name not in recipe_names():
        raise UsageError(f"recipe: got {name!r}, expected one of {', '.join(recipe_names())}")
    if name in seen:
        raise UsageError(f"recipes/{name}.toml: extends: a cycle through {' -> '.join(seen + (name,))}")
    own = read_config(f"recipes/{name}.toml")
    unknown = set(own) - KEYS
    if unknown:
        raise UsageError(f"recipes/{name}.toml: unknown key(s) {', '.join(sorted(unknown))}, expected some of {', '.join(sorted(KEYS))}")
    base = _merged(own["extends"], seen + (name,)) if "extends" in own else {}
    merged = {**base, **{k: v for k, v in own.items() if k not in TABLES and k != "extends"}}
    for table in TABLES:
        merged[table] = {**base.get(table, {}), **own.get(table, {})}
    return merged


def load_recipe(name: str, **overrides) -> Recipe:
    """The named recipe, validated; `overrides` replace top-level fields (model, tokenizer, data_dir...)."""
    config = _merged(name)
    where = f"recipes/{name}.toml"
    try:
        train = dict(config["train"])
        if train.get("early_stopping_patience") == 0:  # TOML has no null: 0 turns early stopping off
            train["early_stopping_patience"] = None
        synthetic, seeds = config["data"].get("synthetic", {}), config["data"].get("synthetic_seeds", {})
        recipe = Recipe(
            name=name, model=config["model"], tokenizer=config.get("tokenizer", config["model"]),
            model_seed=config.get("model_seed", 0), device=config.get("device", "cpu"), dtype=config.get("dtype", "auto"),
            train=TrainConfig.from_dict(train), eval=EvalConfig(**config["eval"], format=TaskFormat.from_dict(config["format"])),
            synthetic=tuple(synthetic[k] for k in ("train", "eval", "test")) if synthetic else Recipe.synthetic,
            synthetic_seeds=tuple(seeds[k] for k in ("train", "eval", "test")) if seeds else Recipe.synthetic_seeds,
            budgets=dict(config["budgets"]),
            decision=ThresholdRule.parse(config["decision"].get("threshold_rule", "max_f1")),
        )
        unknown = set(config["decision"]) - {"threshold_rule"}
        if unknown:
            raise ValueError(f"[decision]: unknown key(s) {', '.join(sorted(unknown))}, expected threshold_rule")
        if overrides.get("data_dir") is not None:
            overrides["data_dir"] = Path(overrides["data_dir"])
        return dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})
    except KeyError as err:
        raise UsageError(f"{where}: {err.args[0]}: missing") from None
    except (TypeError, ValueError) as err:
        raise UsageError(f"{where}: {err}") from None
