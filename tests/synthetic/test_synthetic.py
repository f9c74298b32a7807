"""Tests for fraudft.synthetic: format, determinism, counts, no default leak, planted shortcuts."""

import re
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fraudft.data.records import REFERENCE_INSTRUCTION
from fraudft.synthetic import SHORTCUTS, SynthConfig, generate
from fraudft.synthetic.scripts import FRAUD_SCRIPTS, NEGATIVE_SCRIPTS

NUMBERED_TAG = re.compile(r"发言人\d+")
SURFACE_FEATURES = (
    "chars", "turns", "numbered_tag_share", "exclamations", "digits", "questions", "commas",
    "periods", "instruction_chars", "instruction_is_reference",
)


def speakers(record: dict) -> list[str]:
    return [line.split(": ", 1)[0] for line in record["input"].split("\n")]


def assert_consistent(record: dict) -> None:
    if record["label"]:
        assert record["fraud_speaker"] in speakers(record)
    else:
        assert record["fraud_speaker"] == ""


def surface(record: dict) -> list[float]:
    """The features named in SURFACE_FEATURES, in that order."""
    text, tags = record["input"], speakers(record)
    return [
        len(text),
        len(tags),
        sum(bool(NUMBERED_TAG.fullmatch(tag)) for tag in tags) / len(tags),
        text.count("！"),
        sum(c.isdigit() for c in text),
        text.count("？"),
        text.count("，"),
        text.count("。"),
        len(record["instruction"]),
        record["instruction"] == REFERENCE_INSTRUCTION,
    ]


def probe_accuracy(records: list[dict], columns=None) -> float:
    """5-fold CV accuracy of a logistic regression on surface features alone."""
    x = np.array([surface(r) for r in records], dtype=float)
    if columns is not None:
        x = x[:, columns]
    y = np.array([r["label"] for r in records])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return cross_val_score(model, x, y, cv=5).mean()


def content(record: dict) -> str:
    """The dialogue without speaker tags and with ！ read as 。: any planted leak removed."""
    lines = (line.split(": ", 1)[1] for line in record["input"].split("\n"))
    return "\n".join(lines).replace("！", "。")


@pytest.fixture(scope="module")
def default_records():
    return generate(SynthConfig(n=2000, seed=0))


@pytest.fixture(scope="module")
def content_model(default_records):
    """Character uni+bigram logistic regression trained on the tag-free content of default data."""
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, 2))
    x = vectorizer.fit_transform([content(r) for r in default_records])
    labels = [r["label"] for r in default_records]
    return vectorizer, LogisticRegression(max_iter=1000).fit(x, labels)


def test_record_format(default_records):
    for record in default_records:
        assert set(record) == {"input", "label", "fraud_speaker", "instruction"}
        assert type(record["input"]) is str and type(record["label"]) is bool
        assert type(record["fraud_speaker"]) is str
        assert record["instruction"] == REFERENCE_INSTRUCTION
        for line in record["input"].split("\n"):
            assert re.fullmatch(r"[^:\n]+: \S.*", line), line


def test_fraud_speaker_is_a_speaker_of_fraud_records_only(default_records):
    for record in default_records:
        assert_consistent(record)


def test_size_and_exact_class_ratio():
    records = generate(SynthConfig(n=301, seed=3, fraud_ratio=0.3))
    assert len(records) == 301
    assert sum(r["label"] for r in records) == round(301 * 0.3)
    assert not all(r["label"] for r in records[:90])  # shuffled, not fraud first


@pytest.mark.parametrize("ratio, expected", [(0.0, 0), (1.0, 50)])
def test_single_class(ratio, expected):
    assert sum(r["label"] for r in generate(SynthConfig(n=50, fraud_ratio=ratio))) == expected


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 60),
    seed=st.integers(-(2**40), 2**40),
    fraud_ratio=st.floats(0, 1),
    label_noise=st.floats(0, 0.5),
    shortcut=st.sampled_from((None, *SHORTCUTS)),
)
def test_deterministic_and_consistent(n, seed, fraud_ratio, label_noise, shortcut):
    config = SynthConfig(n, seed, fraud_ratio, label_noise, shortcut)
    records = generate(config)
    assert records == generate(config)
    assert len(records) == n
    for record in records:
        assert_consistent(record)
        assert len(record["input"]) <= 600


def test_seed_changes_output():
    assert generate(SynthConfig(n=20, seed=1)) != generate(SynthConfig(n=20, seed=2))


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.25, 0.5])
def test_label_noise_flips_exact_count(noise):
    clean = generate(SynthConfig(n=400, seed=7))
    noisy = generate(SynthConfig(n=400, seed=7, label_noise=noise))
    assert [r["input"] for r in clean] == [r["input"] for r in noisy]
    assert sum(a["label"] != b["label"] for a, b in zip(clean, noisy)) == round(400 * noise)
    for record in noisy:
        assert_consistent(record)


@pytest.mark.parametrize(
    "field, value",
    [
        ("n", 0), ("n", 2.0), ("n", True), ("seed", "1"), ("seed", 1.5),
        ("fraud_ratio", 1.5), ("fraud_ratio", -0.1), ("fraud_ratio", float("nan")),
        ("fraud_ratio", "0.5"), ("label_noise", 0.6), ("label_noise", -0.01), ("label_noise", None),
        ("shortcut", "lengths"), ("shortcut", ""),
    ],
)
def test_config_validation(field, value):
    with pytest.raises(ValueError, match=f"^{field}: got .*expected"):
        SynthConfig(**{field: value})


def test_shortcut_error_lists_valid_names():
    with pytest.raises(ValueError) as err:
        SynthConfig(shortcut="bogus")
    assert all(name in str(err.value) for name in SHORTCUTS)


def test_enough_schemes_and_negative_kinds():
    assert len(FRAUD_SCRIPTS) >= 8 and len(NEGATIVE_SCRIPTS) >= 8


def test_lengths_fit_cpu_training(default_records):
    lengths = [len(r["input"]) for r in default_records]
    assert 80 <= statistics.median(lengths) <= 250
    assert max(lengths) <= 600


def test_diversity(default_records):
    assert len({r["input"] for r in default_records}) >= 0.9 * len(default_records)


def test_no_surface_shortcut_by_default(default_records):
    assert probe_accuracy(default_records) < 0.6


@pytest.mark.parametrize("feature", SURFACE_FEATURES)
def test_no_single_surface_feature_separates_classes(default_records, feature):
    assert probe_accuracy(default_records, [SURFACE_FEATURES.index(feature)]) < 0.6


@pytest.mark.parametrize("shortcut", SHORTCUTS)
def test_planted_shortcut_is_detected_by_the_probe(shortcut):
    assert probe_accuracy(generate(SynthConfig(n=2000, seed=0, shortcut=shortcut))) > 0.9


@pytest.mark.parametrize("shortcut", SHORTCUTS)
def test_planted_shortcut_keeps_the_content_label(content_model, shortcut):
    vectorizer, model = content_model
    leaky = generate(SynthConfig(n=300, seed=9, shortcut=shortcut))
    x = vectorizer.transform([content(r) for r in leaky])
    assert model.score(x, [r["label"] for r in leaky]) >= 0.9


def by_class(shortcut: str, fn) -> tuple[list, list]:
    records = generate(SynthConfig(n=400, seed=5, shortcut=shortcut))
    return [fn(r) for r in records if r["label"]], [fn(r) for r in records if not r["label"]]


def test_length_shortcut():
    fraud, clean = by_class("length", lambda r: len(r["input"]))
    assert statistics.mean(fraud) >= 1.8 * statistics.mean(clean)


def test_turns_shortcut():
    fraud, clean = by_class("turns", lambda r: len(speakers(r)))
    assert min(fraud) >= 6 and max(clean) <= 3


def test_instruction_shortcut():
    fraud, clean = by_class("instruction", lambda r: r["instruction"])
    assert set(clean) == {REFERENCE_INSTRUCTION}
    assert len(set(fraud)) == 1 and fraud[0] != REFERENCE_INSTRUCTION


def test_punctuation_shortcut():
    fraud, clean = by_class("punctuation", lambda r: r["input"])
    assert all(line.endswith("！") for text in fraud for line in text.split("\n"))
    assert not any("！" in text for text in clean)


def test_speaker_tag_shortcut():
    fraud, clean = by_class("speaker_tag", speakers)
    assert not any(NUMBERED_TAG.fullmatch(tag) for tags in fraud for tag in tags)
    assert all(NUMBERED_TAG.fullmatch(tag) for tags in clean for tag in tags)


def test_content_carries_the_label(default_records):
    texts, labels = [r["input"] for r in default_records], [r["label"] for r in default_records]
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, 2))
    x_train, x_test = vectorizer.fit_transform(texts[:1500]), vectorizer.transform(texts[1500:])
    model = LogisticRegression(max_iter=1000).fit(x_train, labels[:1500])
    assert model.score(x_test, labels[1500:]) >= 0.9
