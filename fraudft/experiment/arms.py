"""The ablation arms, read from fraudft/configs/arms.toml (in the spirit of peft's method_comparison).

    from fraudft.experiment.arms import ARMS, ARMS_BY_NAME
    ARMS_BY_NAME["reference"].lora.scale      # 2.0

Each arm says how the adapter is trained (or not), on which data (named transforms of the recipe's
splits, see fraudft.experiment.splits) and what it expects. To add an arm, add an [[arm]] table to
arms.toml; the benchmark (`pytest bench`) parametrizes over them. Or bring arms without editing the
package: `--arms-file my_arms.toml` (grid, run-arm, pytest bench) adds its arms to these, a same-named
one replacing the built-in (load_arms).

An arm's `lora` table is peft.LoraConfig's keyword arguments, whole (fraudft.modeling.lora); its
`train` table overrides the recipe's [train] by name, any TrainConfig or TrainingArguments field
(fraudft.engine.train_config). Loading checks what it can without importing peft or transformers;
`check_arms` builds peft's LoraConfig and checks the training keys, as every run does before it
trains (grid, run-arm).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fraudft.configs import read_config
from fraudft.core.errors import UsageError
from fraudft.core.registry import Registry
from fraudft.experiment.splits import SPLIT_TRANSFORMS
from fraudft.experiment.baselines import BASELINES
from fraudft.modeling.lora import LoraSettings, peft_names
from fraudft.results.expectations import Expectation

METHODS = ("lora", "none", *BASELINES)  # fine-tune, the model as it is, or a registered baseline


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
    train: dict = field(default_factory=dict)  # over the recipe's [train]: TrainConfig or TrainingArguments fields

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"{self.name}: method: got {self.method!r}, expected one of {', '.join(METHODS)}")
        if (self.method == "lora") != (self.lora is not None):
            raise ValueError(f"{self.name}: LoRA settings go with method = 'lora' only")
        if not isinstance(self.train, dict):
            raise ValueError(f"{self.name}: train: got {self.train!r}, expected a table of training options")
        if self.train and self.lora is None:
            raise ValueError(f"{self.name}: train: an arm that trains nothing takes no training options")
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

    def to_dict(self) -> dict:
        """The arm as records store it: `lora` the LoraConfig keyword arguments, `train` its overrides."""
        plain = copy.copy(self)
        object.__setattr__(plain, "lora", None)  # LoraSettings is no dataclass: its kwargs() are the record's
        return {**dataclasses.asdict(plain), "lora": self.lora.kwargs() if self.lora is not None else None}

    def check(self) -> None:
        """ValueError `lora: ...` or `train: ...` unless peft's LoraConfig takes the LoRA settings and
        every training key is a TrainConfig or TrainingArguments field (imports peft and transformers)."""
        if self.lora is not None:
            try:
                self.lora.check()
            except ValueError as err:
                raise ValueError(f"lora: {err}") from None
        if self.train:
            from fraudft.engine.train_config import TrainConfig

            try:
                TrainConfig().with_options(self.train)
            except (TypeError, ValueError) as err:
                raise ValueError(f"train: {err}") from None


KNOWN_FIELDS = {"description", "method", "train", "lora", "train_data", "test_data", "expect", "reference_result",
                "extra_tests", "learning_rate_scale", "recipes"}


def _method_and_training(table: dict, where: str) -> tuple[str | None, dict]:
    """(method, training options) of an [[arm]] or [defaults] table: `method = "lora"`, or the old
    spelling `train = "lora"`; `train = {...}` (or [arm.train]) the training options."""
    method, train = table.get("method"), table.get("train", {})
    if isinstance(train, str):  # the old spelling of method
        if method is not None:
            raise ValueError(f"{where}method, train: both name the method; use method = {method!r}")
        method, train = train, {}
    if not isinstance(train, dict):
        raise ValueError(f"{where}train: got {train!r}, expected a table of training options (or the method's name)")
    return method, train


def arm_from_config(entry: dict, defaults: dict) -> Arm:
    """An Arm from one [[arm]] table layered over [defaults]; a bad field raises ValueError."""
    entry = dict(entry)
    name = entry.pop("name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: got {name!r}, expected the arm's name")
    unknown = set(entry) - KNOWN_FIELDS
    if unknown:
        raise ValueError(f"{name}: unknown field(s) {', '.join(sorted(unknown))}, expected some of {', '.join(sorted(KNOWN_FIELDS))}")
    default_method, default_train = _method_and_training(defaults, "[defaults]: ")
    method, train = _method_and_training(entry, f"{name}: ")
    method = method or default_method or "lora"
    lora = None
    if method == "lora":
        lora_table = entry.get("lora", {})
        if not isinstance(lora_table, dict):
            raise ValueError(f"{name}: lora: got {lora_table!r}, expected a table of LoraConfig fields")
        try:
            lora = LoraSettings(**{**peft_names(defaults.get("lora", {})), **peft_names(lora_table)})
        except ValueError as err:
            raise ValueError(f"{name}: lora: {err}") from None
        train = {**default_train, **train}
    elif "lora" in entry:
        raise ValueError(f"{name}: lora: an arm with method = {method!r} takes no LoRA settings")
    expects = []
    for e in entry.get("expect", ()):
        e = dict(e)
        if e.get("other") == "baselines":  # the group named in [defaults]
            e["other"] = tuple(defaults.get("baselines", ()))
        expects.append(Expectation(**e))
    return Arm(
        name=name, description=entry.get("description", ""), lora=lora,
        train_data=tuple(entry.get("train_data", ())), test_data=tuple(entry.get("test_data", ())),
        expects=tuple(expects), reference_result=entry.get("reference_result", ""), method=method,
        extra_tests=tuple(entry.get("extra_tests", ())), learning_rate_scale=entry.get("learning_rate_scale", 1.0),
        recipes=tuple(entry.get("recipes", ())), train=dict(train),
    )


def parse_arms(config: dict, where: str = "arms.toml", defaults: dict | None = None) -> tuple[Arm, ...]:
    """The arms of one arms file's dict, each on its own (errors `WHERE: arm N: ...`); `defaults`
    (another file's [defaults]) lie under the file's own, table by table."""
    defaults = _layered(defaults or {}, config.get("defaults", {}))
    arms = []
    for i, entry in enumerate(config.get("arm", []), start=1):
        try:
            arms.append(arm_from_config(entry, defaults))
        except (TypeError, ValueError) as err:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name:  # `arm NAME: field: ...`
                raise UsageError(f"{where}: arm {name}: {str(err).removeprefix(f'{name}: ')}") from None
            raise UsageError(f"{where}: arm {i}: {err}") from None
    return tuple(arms)


def _layered(base: dict, over: dict) -> dict:
    return {**base, **over, **{k: {**base[k], **over[k]} for k in over
                               if isinstance(over[k], dict) and isinstance(base.get(k), dict)}}


def check_together(arms: tuple[Arm, ...], where: str = "arms.toml") -> tuple[Arm, ...]:
    """The arms, checked together: unique names, comparisons with arms tested on the same data."""
    by_name = {}
    for arm in arms:
        if arm.name in by_name:
            raise UsageError(f"{where}: {arm.name}: the name is used twice, expected unique arm names")
        by_name[arm.name] = arm
    for arm in arms:
        for expectation in arm.comparisons():
            for name in expectation.other:
                other = by_name.get(name)
                if other is None:
                    raise UsageError(f"{where}: {arm.name}: expect: " + arm_registry(arms).unknown_message(name, "other"))
                if other.evaluation_on(arm.test_data) is None:
                    raise UsageError(f"{where}: {arm.name}: compared with {other.name}, which is not tested on "
                                     f"the same data (add {list(arm.test_data)} to its extra_tests)")
    return arms


def arms_from_config(config: dict, where: str = "arms.toml") -> tuple[Arm, ...]:
    """All arms of an arms.toml dict, checked together."""
    return check_together(parse_arms(config, where), where)


def check_arms(arms, where: str = "arms.toml") -> None:
    """UsageError `WHERE: arm NAME: lora: FIELD: ...` unless every arm's LoRA settings build peft's
    LoraConfig and its training keys are known (Arm.check; imports peft and transformers)."""
    for arm in arms:
        try:
            arm.check()
        except ValueError as err:
            raise UsageError(f"{where}: arm {arm.name}: {err}") from None


def load_arms(arms_file: str | Path | None = None, check: bool = False) -> tuple[Arm, ...]:
    """The arms in force: the built-in ones and, with `arms_file`, that file's (its [defaults] over
    the built-in [defaults]; an arm named like a built-in one replaces it, said once on stderr),
    checked together; `check`: and with check_arms too. Errors name the file."""
    if arms_file is None:
        arms, theirs = ARMS, ()
    else:
        arms, theirs = _with_file(str(arms_file))
    if check:
        check_arms([a for a in arms if a not in theirs])
        check_arms(theirs, str(arms_file))
    return arms


@functools.cache
def _with_file(path: str) -> tuple[tuple[Arm, ...], tuple[Arm, ...]]:
    """(the arms in force, those of the file) with the arms file at `path` (read once a process)."""
    import tomllib

    try:
        config = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"--arms-file: cannot read {path}: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not valid TOML: {err}") from None
    unknown = set(config) - {"defaults", "arm"}
    if unknown:
        raise UsageError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}, expected [defaults] and [[arm]]")
    theirs = parse_arms(config, path, defaults=BUILTIN_DEFAULTS)
    by_name = {}
    for arm in theirs:
        if arm.name in by_name:
            raise UsageError(f"{path}: {arm.name}: the name is used twice, expected unique arm names")
        by_name[arm.name] = arm
    replaced = [name for name in by_name if name in ARMS_BY_NAME]
    if replaced:
        print(f"{path}: replaces the built-in arm(s) {', '.join(replaced)}", file=sys.stderr)
    merged = tuple(by_name.get(a.name, a) for a in ARMS) + tuple(a for a in theirs if a.name not in ARMS_BY_NAME)
    return check_together(merged, path), theirs


def arms_by_name(arms_file: str | Path | None = None, check: bool = False) -> dict[str, Arm]:
    """{name: arm} of load_arms(arms_file)."""
    return {arm.name: arm for arm in load_arms(arms_file, check)}


def arm_registry(arms) -> Registry[Arm]:
    """The arms as a Registry of kind "arm" (its unknown_message words an unknown arm name)."""
    registry: Registry[Arm] = Registry("arm")
    for arm in arms:
        registry.add(arm.name, arm)
    return registry


def named_arms(names, arms_file: str | Path | None = None, option: str = "--arms") -> tuple[Arm, ...]:
    """The arms of load_arms(arms_file) named in `names` (a comma-separated string or a sequence of
    names; empty entries ignored), in that order. An unknown name is a UsageError before anything
    runs: `OPTION: got 'NAME', expected an arm, one of ... (did you mean ...?)` (Registry.unknown_message),
    one such clause per unknown name, on one line."""
    if isinstance(names, str):
        names = names.split(",")
    names = [name.strip() for name in names if name.strip()]
    registry = arm_registry(load_arms(arms_file))
    unknown = [name for name in dict.fromkeys(names) if name not in registry]
    if unknown:
        raise UsageError("; ".join(registry.unknown_message(name, option) for name in unknown))
    return tuple(registry[name] for name in names)


_BUILTIN = read_config("arms.toml")
BUILTIN_DEFAULTS: dict = _BUILTIN.get("defaults", {})
ARMS: tuple[Arm, ...] = arms_from_config(_BUILTIN)
ARMS_BY_NAME = {arm.name: arm for arm in ARMS}
