"""The train/eval/test splits of a recipe, and the named transforms arms apply to them.

    from fraudft.experiment.splits import load_splits, split_for
    splits = load_splits(data_dir=None, synthetic=(1500, 200, 400))
    train = split_for(splits, "train", ("plant:speaker_tag", "neutralize_speakers"))

A transform takes (records, splits, split name) and returns new records; it is registered by name
with `@split_transform(NAME)`, so arms.toml can name it. `plant:SHORTCUT` regenerates a synthetic
split with that shortcut planted (fraudft.synthetic); it raises ArmSkipped on a data folder.
`speaker_tag_shortcut` plants the speaker-tag shortcut on synthetic data and keeps a data folder's
records as they are: in the reference data the speaker tags are already a shortcut.

The counterfactual test sets of fraudft.audit.counterfactuals (neutralize_speakers, swap_speaker_names,
remove_role_words, normalize_width, mask_top_ngrams: the last finds its n-grams on the train split)
are registered here too; each keeps its change report in `splits.changes["NAME:SPLIT"]` (how many
records it changed, and which it left unchanged and why), which the runner stores in the evaluation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from fraudft.core.cache import cache_dir
from fraudft.core.errors import DataError
from fraudft.data.formats.base import file_suffixes
from fraudft.data.loading import load_records, place_word
from fraudft.results.store import write_json_atomic
from fraudft.synthetic import SHORTCUTS, SynthConfig, generate
from fraudft.audit.counterfactuals import COUNTERFACTUALS, counterfactual

SPLIT_NAMES = ("train", "eval", "test")
SYNTHETIC_SEEDS = (1, 2, 3)  # train, eval, test: a recipe's [data] synthetic_seeds may freeze others


class ArmSkipped(Exception):
    """The arm cannot run on this data (e.g. planting a shortcut needs the synthetic generator)."""


@dataclass
class Splits:
    train: list[dict]
    eval: list[dict]
    test: list[dict]
    source: str
    synthetic: dict[str, SynthConfig] | None = None  # how each split was generated, if it was
    fingerprints: dict = field(default_factory=dict)
    audit: dict = field(default_factory=dict)  # fraudft.audit findings on train/eval/test
    changes: dict = field(default_factory=dict)  # "NAME:SPLIT": a counterfactual's change report
    places: dict = field(default_factory=dict)  # split: how its file names records (line, item, row); {} synthetic


def fingerprint(records: list[dict]) -> str:
    """A short hash of the records' labels and inputs."""
    digest = hashlib.sha256()
    for r in records:
        digest.update(f"{r['label']}\t{r['input']}\n".encode())
    return digest.hexdigest()[:16]


def load_splits(data_dir: str | Path | None, synthetic: tuple[int, int, int],
                seeds: tuple[int, int, int] = SYNTHETIC_SEEDS) -> Splits:
    """train/eval/test from data_dir (one file per split, any suffix of a registered format: train.jsonl or
    train.csv, ...; see split_files), else synthetic of these sizes, generated with these seeds."""
    if data_dir is not None:
        files = split_files(data_dir)
        parts = {name: load_records(path) for name, path in files.items()}
        splits = Splits(**parts, source=str(data_dir), places={name: place_word(path) for name, path in files.items()})
    else:
        configs = {name: SynthConfig(n=n, seed=seed) for name, n, seed in zip(SPLIT_NAMES, synthetic, seeds)}
        splits = Splits(**{name: generate(c) for name, c in configs.items()}, synthetic=configs,
                        source=f"synthetic seeds {'/'.join(map(str, seeds))} sizes " + "/".join(map(str, synthetic)))
    splits.fingerprints = {name: fingerprint(getattr(splits, name)) for name in SPLIT_NAMES}
    splits.audit = audit_summary(splits)
    return splits


def split_files(data_dir: str | Path) -> dict[str, Path]:
    """{split: its file} in data_dir: exactly one of SPLIT.jsonl, .json, .csv, .parquet per split,
    else a DataError naming the folder and what it holds."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(folder, None, "data dir", "not a folder, expected a folder of train, eval and test files")
    held = sorted(p.name for p in folder.iterdir())
    files = {}
    for name in SPLIT_NAMES:
        found = [folder / f"{name}{suffix}" for suffix in file_suffixes() if (folder / f"{name}{suffix}").is_file()]
        if len(found) != 1:
            what = f"{len(found)} {name} files ({', '.join(p.name for p in found)})" if found else f"no {name} file"
            raise DataError(folder, None, "data dir", f"{what} among {', '.join(held) or 'nothing'}, expected exactly one of "
                            f"{', '.join(name + s for s in file_suffixes())}")
        files[name] = found[0]
    return files


def audit_summary(splits: Splits) -> dict:
    """fraudft.audit's findings on train/eval/test, cached by the splits' fingerprints (every arm
    of a grid runs in its own process on the same data, and the audit takes seconds)."""
    from fraudft.audit import AuditConfig, audit

    key = hashlib.sha256(json.dumps([splits.fingerprints, dataclasses.asdict(AuditConfig()), splits.places], sort_keys=True)
                         .encode()).hexdigest()[:20]
    path = cache_dir("audits", f"{key}.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass  # not cached yet (or unreadable): audit again
    report = audit({name: getattr(splits, name) for name in SPLIT_NAMES}, places=splits.places)
    summary = {"worst_level": report.worst_level, "counts": report.counts(),
               "findings": [f"[{f.level}] {f.check} {f.split or ''}: {f.verdict}" for f in report.findings]}
    write_json_atomic(summary, path)
    return summary


Transform = Callable[[list[dict], Splits, str], list[dict]]
SPLIT_TRANSFORMS: dict[str, Transform] = {}


def split_transform(name: str):
    """Register a transform under `name` for arms.toml's train_data / test_data."""

    def register(fn: Transform) -> Transform:
        SPLIT_TRANSFORMS[name] = fn
        return fn

    return register


@split_transform("positives_only")
def _positives_only(records: list[dict], splits: Splits, split: str) -> list[dict]:
    return [r for r in records if r["label"]]


def _counterfactual(name: str) -> Transform:
    def transform(records: list[dict], splits: Splits, split: str) -> list[dict]:
        out, report = counterfactual(name, records, train=splits.train if name == "mask_top_ngrams" else None)
        splits.changes[f"{name}:{split}"] = report
        return out

    return transform


for _name in COUNTERFACTUALS:
    split_transform(_name)(_counterfactual(_name))


def _plant(shortcut: str) -> Transform:
    def plant(records: list[dict], splits: Splits, split: str) -> list[dict]:
        if splits.synthetic is None:
            raise ArmSkipped(f"plant:{shortcut} regenerates a synthetic split with the shortcut: not possible on {splits.source}")
        return generate(replace(splits.synthetic[split], shortcut=shortcut))

    return plant


for _shortcut in SHORTCUTS:
    split_transform(f"plant:{_shortcut}")(_plant(_shortcut))


@split_transform("speaker_tag_shortcut")
def _speaker_tag_shortcut(records: list[dict], splits: Splits, split: str) -> list[dict]:
    """Planted on synthetic data; on a data folder the data as it is (its own tags are the shortcut)."""
    return records if splits.synthetic is None else _plant("speaker_tag")(records, splits, split)


def split_for(splits: Splits, split: str, transforms: tuple[str, ...]) -> list[dict]:
    """The named split after the transforms, applied in order."""
    records = getattr(splits, split)
    for name in transforms:
        records = SPLIT_TRANSFORMS[name](records, splits, split)
    return records
