"""The experiments as data: `arms.toml` (the ablation arms) and `recipes/*.toml` (model, data,
training and evaluation settings with their budgets, one file per recipe, keyed by its file name).

    from fraudft.configs import read_config
    read_config("arms.toml")["arm"][0]["name"]      # "untuned"

Only the standard library is used here, so every layer can read the configs. The validated
dataclasses built from them live in fraudft.experiment.
"""

from __future__ import annotations

import tomllib
from importlib import resources

from fraudft.core.errors import UsageError


def read_config(name: str) -> dict:
    """A TOML file of this folder (e.g. "arms.toml", "recipes/cpu-tiny.toml") as a dict."""
    path = resources.files(__package__).joinpath(name)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{name}: no such config in fraudft/configs/") from None
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"fraudft/configs/{name}: {err}") from None


def recipe_names() -> list[str]:
    """The recipes shipped in recipes/, by name."""
    folder = resources.files(__package__).joinpath("recipes")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def arm_order() -> dict[str, int]:
    """Arm name -> its position in arms.toml (the order tables show arms in)."""
    return {arm["name"]: i for i, arm in enumerate(read_config("arms.toml").get("arm", []))}
