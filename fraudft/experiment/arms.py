"""The ablation arms, read from fraudft/configs/arms.toml (in the spirit of peft's method_comparison).

    from fraudft.experiment.arms import ARMS, ARMS_BY_NAME
    ARMS_BY_NAME["reference"].lora.scale      # 2.0

Each arm says how the adapter is trained (or not), on which data (named transforms of the recipe's
splits, see fraudft.experiment.splits) and what it expects. To add an arm, add an [[arm]] table to
arms.toml; the benchmark (`pytest bench`) parametrizes over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fraudft.configs import read_config
from fraudft.core.errors import UsageError
from fraudft.experiment.splits import SPLIT_TRANSFORMS
from fraudft.modeling.lora import LoraSettings
from fraudft.results.expectations import Expectation

BASELINE_METHODS = ("always_fraud", "surface_probe")  # fraudft.experiment.baselines
METHODS = ("lora", "none", *BASELINE_METHODS)


@dataclass(frozen=True)
class Arm:
    name: str
    description: str
    lora: LoraSettings | None  # None: nothing is fine-tuned
    train_data: tuple[str, ...] = ()
    test_data: tuple[str, ...] = ()
    expects: tuple[Expectation, ...] = field(default=())
    reference_result: str = ""  # what the series reported for this setting (REFERENCE §6)
    method: str = "lora"  # lora, none (the model as it is), or a baseline of fraudft.experiment.baselines
    extra_tests: tuple[str, ...] = ()  # more evaluations of the same adapter: the test split after each transform
    learning_rate_scale: float = 1.0  # the recipe's learning rate times this (the iso-effective-lr sweep)
    recipes: tuple[str, ...] = ()  # the recipes whose default grid runs it (empty: every recipe)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"{self.name}: train: got {self.method!r}, expected one of {', '.join(METHODS)}")
        if (self.method == "lora") != (self.lora is not None):
            raise ValueError(f"{self.name}: LoRA settings go with train = 'lora' only")
        for where, names in (("train_data", self.train_data), ("test_data", self.test_data)):
            for name in names:
                if name not in SPLIT_TRANSFORMS:
                    raise ValueError(f"{self.name}: {where}: got {name!r}, expected one of {', '.join(SPLIT_TRANSFORMS)}")
            if any(name.startswith("plant:") or name == "speaker_tag_shortcut" for name in names[1:]):
                raise ValueError(f"{self.name}: {where}: {names[1:]}: a shortcut source regenerates the split, so it must come first")
        if self.lora is None and (self.expects or self.train_data):
            raise ValueError(f"{self.name}: an untuned arm or baseline trains nothing, so it can expect nothing")
        for name in self.extra_tests:
            if name not in SPLIT_TRANSFORMS:
                raise ValueError(f"{self.name}: extra_tests: got {name!r}, expected one of {', '.join(SPLIT_TRANSFORMS)}")
        for e in self.expects:
            if e.kind in ("invariant", "directional") and e.under not in self.extra_tests:
                raise ValueError(f"{self.name}: expect: {e.kind} under {e.under!r}: add {e.under!r} to the arm's "
                                 f"extra_tests (the flip rate compares its `test` and `test:{e.under}` evaluations)")
        scale = self.learning_rate_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"{self.name}: learning_rate_scale: got {scale!r}, expected a number > 0")
        if scale != 1 and self.lora is None:
            raise ValueError(f"{self.name}: learning_rate_scale: an arm that trains nothing has no learning rate")

    def evaluation_on(self, test_data: tuple[str, ...]) -> str | None:
        """The name of this arm's evaluation on the test split after `test_data` (its own test
        evaluation `test`, or an extra one `test:NAME`), or None when it has none."""
        if tuple(test_data) == self.test_data:
            return "test"
        if len(test_data) == 1 and test_data[0] in self.extra_tests:
            return f"test:{test_data[0]}"
        return None

    def runs_in(self, recipe_name: str) -> bool:
        """Whether the recipe's default grid runs this arm (`--arms NAME` runs it anywhere)."""
        return not self.recipes or recipe_name in self.recipes

    def comparisons(self) -> list[Expectation]:
        """The expectations that compare this arm with another one."""
        return [e for e in self.expects if e.compares]


def arm_from_config(entry: dict, defaults: dict) -> Arm:
    """An Arm from one [[arm]] table layered over [defaults]; a bad field raises ValueError."""
    entry = dict(entry)
    name = entry.pop("name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: got {name!r}, expected the arm's name")
    known = {"description", "train", "lora", "train_data", "test_data", "expect", "reference_result", "extra_tests",
             "learning_rate_scale", "recipes"}
    unknown = set(entry) - known
    if unknown:
        raise ValueError(f"{name}: unknown field(s) {', '.join(sorted(unknown))}, expected some of {', '.join(sorted(known))}")
    train = entry.get("train", defaults.get("train", "lora"))
    lora = None
    if train == "lora":
        settings = {**defaults.get("lora", {}), **entry.get("lora", {})}
        if "target_modules" in settings:
            settings["target_modules"] = tuple(settings["target_modules"])
        lora = LoraSettings(**settings)
    elif "lora" in entry:
        raise ValueError(f"{name}: lora: an arm with train = {train!r} takes no LoRA settings")
    expects = []
    for e in entry.get("expect", ()):
        e = dict(e)
        if e.get("other") == "baselines":  # the group named in [defaults]
            e["other"] = tuple(defaults.get("baselines", ()))
        expects.append(Expectation(**e))
    return Arm(
        name=name, description=entry.get("description", ""), lora=lora,
        train_data=tuple(entry.get("train_data", ())), test_data=tuple(entry.get("test_data", ())),
        expects=tuple(expects), reference_result=entry.get("reference_result", ""), method=train,
        extra_tests=tuple(entry.get("extra_tests", ())), learning_rate_scale=entry.get("learning_rate_scale", 1.0),
        recipes=tuple(entry.get("recipes", ())),
    )


def arms_from_config(config: dict) -> tuple[Arm, ...]:
    """All arms of an arms.toml dict, checked together: unique names, comparisons on equal test data."""
    defaults = config.get("defaults", {})
    arms = []
    for i, entry in enumerate(config.get("arm", []), start=1):
        try:
            arms.append(arm_from_config(entry, defaults))
        except (TypeError, ValueError) as err:
            raise UsageError(f"arms.toml: arm {i}: {err}") from None
    by_name = {}
    for arm in arms:
        if arm.name in by_name:
            raise UsageError(f"arms.toml: {arm.name}: the name is used twice, expected unique arm names")
        by_name[arm.name] = arm
    for arm in arms:
        for expectation in arm.comparisons():
            for name in expectation.other:
                other = by_name.get(name)
                if other is None:
                    raise UsageError(f"arms.toml: {arm.name}: expect: no arm named {name!r}")
                if other.evaluation_on(arm.test_data) is None:
                    raise UsageError(f"arms.toml: {arm.name}: compared with {other.name}, which is not tested on "
                                     f"the same data (add {list(arm.test_data)} to its extra_tests)")
    return tuple(arms)


ARMS: tuple[Arm, ...] = arms_from_config(read_config("arms.toml"))
ARMS_BY_NAME = {arm.name: arm for arm in ARMS}
