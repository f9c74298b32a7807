"""The ablation arms, read from fraudft/configs/arms.toml (in the spirit of peft's method_comparison).

    from fraudft.experiment.arms import ARMS, ARMS_BY_NAME
    ARMS_BY_NAME["reference"].lora.scale      # 2.0

Each arm says how the adapter is trained (or not), on which data (named transforms of the recipe's
splits, see fraudft.experiment.splits) and what it expects. To add an arm, add an [[arm]] table to
arms.toml; the benchmark (`pytest bench`) parametrizes over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fraudft.configs import read_config
from fraudft.errors import UsageError
from fraudft.experiment.splits import SPLIT_TRANSFORMS
from fraudft.modeling.lora import LoraSettings

ExpectationKind = Literal["collapse", "beats", "worse_than"]
COMPARISON_KINDS = ("beats", "worse_than")
METRICS = ("precision", "recall", "f1", "mcc", "balanced_accuracy")
BASELINE_METHODS = ("always_fraud", "surface_probe")  # fraudft.experiment.baselines
METHODS = ("lora", "none", *BASELINE_METHODS)


@dataclass(frozen=True)
class Expectation:
    """`collapse`, or a paired-bootstrap comparison of `metric` with other arms on the same test data.

    With several `other` arms, the comparison is with the strongest of them (the highest `metric`).
    """

    kind: ExpectationKind
    other: tuple[str, ...] = ()
    metric: str = "f1"

    def __post_init__(self):
        if isinstance(self.other, str):
            object.__setattr__(self, "other", (self.other,))
        object.__setattr__(self, "other", tuple(self.other))
        if self.kind == "collapse":
            if self.other:
                raise ValueError(f"expect: a collapse compares with no other arm, got other={self.other!r}")
        elif self.kind in COMPARISON_KINDS:
            if not self.other or not all(isinstance(o, str) and o for o in self.other):
                raise ValueError(f"expect: {self.kind} needs `other`, the arm(s) to compare with")
        else:
            raise ValueError(f"expect: kind: got {self.kind!r}, expected 'collapse', 'beats' or 'worse_than'")
        if self.metric not in METRICS:
            raise ValueError(f"expect: metric: got {self.metric!r}, expected one of {', '.join(METRICS)}")

    def __str__(self) -> str:
        if self.kind == "collapse":
            return self.kind
        other = self.other[0] if len(self.other) == 1 else "strongest of " + "|".join(self.other)
        return f"{self.kind}:{other}:{self.metric}"


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

    def comparisons(self) -> list[Expectation]:
        """The expectations that compare this arm with another one."""
        return [e for e in self.expects if e.kind in COMPARISON_KINDS]


def arm_from_config(entry: dict, defaults: dict) -> Arm:
    """An Arm from one [[arm]] table layered over [defaults]; a bad field raises ValueError."""
    entry = dict(entry)
    name = entry.pop("name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: got {name!r}, expected the arm's name")
    known = {"description", "train", "lora", "train_data", "test_data", "expect", "reference_result"}
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
                if other.test_data != arm.test_data:
                    raise UsageError(f"arms.toml: {arm.name}: compared with {other.name}, which is tested on other data")
    return tuple(arms)


ARMS: tuple[Arm, ...] = arms_from_config(read_config("arms.toml"))
ARMS_BY_NAME = {arm.name: arm for arm in ARMS}
