"""fraudft.experiment.splits: synthetic or folder splits, and the named transforms arms apply."""

import pytest

from fraudft.core.errors import DataError
from fraudft.experiment.splits import ArmSkipped, load_splits, split_for
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate

SIZES = (40, 10, 20)


@pytest.fixture(scope="module")
def synthetic():
    return load_splits(None, SIZES)


def test_synthetic_splits_have_the_sizes_and_an_audit(synthetic):
    assert [len(synthetic.train), len(synthetic.eval), len(synthetic.test)] == list(SIZES)
    assert set(synthetic.fingerprints) == {"train", "eval", "test"} and synthetic.audit["worst_level"]


def test_transforms_apply_in_order(synthetic):
    assert all(r["label"] for r in split_for(synthetic, "train", ("positives_only",)))
    planted = split_for(synthetic, "train", ("plant:speaker_tag",))
    assert planted == generate(SynthConfig(n=SIZES[0], seed=1, shortcut="speaker_tag"))
    neutral = split_for(synthetic, "train", ("speaker_tag_shortcut", "neutralize_speakers"))
    assert all(line.startswith("发言人") for r in neutral for line in r["input"].split("\n") if line.strip())


def test_on_a_data_folder_the_data_is_its_own_shortcut_and_planting_is_skipped(tmp_path, synthetic):
    for name in ("train", "eval", "test"):
        write_jsonl(getattr(synthetic, name), tmp_path / f"{name}.jsonl")
    folder = load_splits(tmp_path, SIZES)
    assert folder.synthetic is None and folder.fingerprints == synthetic.fingerprints
    assert split_for(folder, "train", ("speaker_tag_shortcut",)) == folder.train
    with pytest.raises(ArmSkipped, match="plant:speaker_tag"):
        split_for(folder, "train", ("plant:speaker_tag",))


def test_a_data_folder_missing_a_split_names_the_file(tmp_path, synthetic):
    write_jsonl(synthetic.train, tmp_path / "train.jsonl")
    with pytest.raises(DataError, match=r": data dir: no eval file among train.jsonl, expected exactly one of eval.jsonl, eval.json"):
        load_splits(tmp_path, SIZES)
