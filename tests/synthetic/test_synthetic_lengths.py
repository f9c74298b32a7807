"""Tests for fraudft.synthetic.lengths: reference-like lengths, the same for both classes."""

import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudft.audit import audit
from fraudft.core.errors import DataError
from fraudft.modeling.encode import Encoder
from fraudft.data.loading import load_jsonl
from fraudft.synthetic import SynthConfig, generate
from fraudft.synthetic import lengths as lengths_module
from fraudft.synthetic.lengths import PROFILES_DIR, cut, fit_profile, load_profile

SHIPPED = json.loads((PROFILES_DIR / "reference.json").read_text(encoding="utf-8"))
QUANTILES = (10, 26, 50, 74, 90)  # percentiles of the shipped table compared with the generated data


@pytest.fixture(scope="module")
def reference_records():
    return generate(SynthConfig(n=2000, seed=0, lengths="reference"))


def quantiles(values, table_field):
    return {p: (float(np.percentile(values, p)), SHIPPED[table_field][SHIPPED["percentiles"].index(p)]) for p in QUANTILES}


def test_config_validation():
    with pytest.raises(ValueError, match="^lengths: got 'long', expected one of 'synthetic', 'reference'"):
        SynthConfig(lengths="long")
    for shortcut in ("length", "turns"):
        with pytest.raises(ValueError, match=f"^lengths: got 'reference' with shortcut '{shortcut}'"):
            SynthConfig(lengths="reference", shortcut=shortcut)


@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(1, 60),
    seed=st.integers(-(2**40), 2**40),
    label_noise=st.floats(0, 0.5),
    shortcut=st.sampled_from((None, "speaker_tag", "instruction", "punctuation")),
)
def test_records_are_valid_and_deterministic(n, seed, label_noise, shortcut):
    config = SynthConfig(n=n, seed=seed, label_noise=label_noise, shortcut=shortcut, lengths="reference")
    records = generate(config)
    assert records == generate(config)
    for record in records:
        tags = [line.split(": ", 1)[0] for line in record["input"].split("\n")]
        for line in record["input"].split("\n"):
            assert len(line.split(": ", 1)) == 2 and line.split(": ", 1)[1].strip(), line
        assert (record["fraud_speaker"] in tags) if record["label"] else record["fraud_speaker"] == ""


def test_token_quantiles_match_the_shipped_targets(reference_records, tokenizer):
    encoder = Encoder(tokenizer)
    input_tokens = [len(tokenizer(r["input"], add_special_tokens=False)["input_ids"]) for r in reference_records]
    encoded = [len(encoder.encode(r)["input_ids"]) for r in reference_records]
    for values, field in ((input_tokens, "input_tokens"), (encoded, "encoded_tokens")):
        for p, (got, target) in quantiles(values, field).items():
            assert abs(got - target) <= 0.1 * target, (field, p, got, target)


def test_lengths_reach_the_reference_range(reference_records):
    chars = [len(r["input"]) for r in reference_records]
    assert max(chars) > 400 and min(chars) < 40  # unlike the default profile's 64-290 characters
    assert len({r["input"] for r in reference_records}) == len(reference_records)


def test_length_is_no_shortcut_for_the_audit(tokenizer):
    splits = {
        "train": generate(SynthConfig(n=400, seed=0, lengths="reference")),
        "test": generate(SynthConfig(n=400, seed=1, lengths="reference")),
    }
    report = audit(splits, tokenizer=tokenizer)
    length = report.select("length")
    assert {f.split for f in length} == {"train", "test"}
    assert all(f.level == "info" for f in length), [f.verdict for f in length]
    assert {"chars", "tokens"} <= set(length[0].figures)


def test_content_carries_the_label_at_reference_lengths(reference_records):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = [r["input"] for r in reference_records], [r["label"] for r in reference_records]
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, 2))
    model = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(texts[:1500]), labels[:1500])
    assert model.score(vectorizer.transform(texts[1500:]), labels[1500:]) >= 0.9


def test_shipped_table_is_refit_from_the_real_split(shared_eval_path, tokenizer):
    encoder = Encoder(tokenizer)
    table = fit_profile(
        load_jsonl(shared_eval_path),
        lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]),
        lambda record: len(encoder.encode(record)["input_ids"]),
    )
    for field in ("records", "left_out_empty", "percentiles", "input_chars", "input_tokens", "encoded_tokens"):
        assert table[field] == SHIPPED[field], field


def test_cut_keeps_whole_tags_and_the_first_line_of_a():
    lines = ["发言人1: 你好你好。", "张女士: 喂，哪位？"]
    assert cut(lines, 100, keep=0) == lines
    assert cut(lines, 13, keep=0) == ["发言人1: 你好你好。"]  # "\n" + part of the next tag: dropped
    assert cut(lines, 17, keep=0) == ["发言人1: 你好你好。"]  # the tag whole but no text: dropped
    assert cut(lines, 18, keep=0) == ["发言人1: 你好你好。", "张女士: 喂"]
    assert cut(lines, 3, keep=1) == ["发言人1: 你好你好。", "张女士: 喂，哪位"]  # A's tag and 4 chars stay


def test_target_draws_follow_the_table():
    profile = load_profile("reference")
    rng = random.Random(0)
    targets = np.array([profile.target_chars(rng) for _ in range(5000)]) / profile.synthetic_chars_per_token
    for p in QUANTILES:
        target = SHIPPED["input_tokens"][SHIPPED["percentiles"].index(p)]
        assert abs(np.percentile(targets, p) - target) <= 0.05 * target + 1


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"percentiles": [0, 100], "input_tokens": [5], "synthetic_chars_per_token": 1.4}', "input_tokens"),
        ('{"percentiles": [0, 100], "input_tokens": [9, 5], "synthetic_chars_per_token": 1.4}', "input_tokens"),
        ('{"percentiles": [0, 50], "input_tokens": [5, 9], "synthetic_chars_per_token": 1.4}', "percentiles"),
        ('{"percentiles": [0, 100], "input_tokens": [5, 9], "synthetic_chars_per_token": "1.4"}', "synthetic_chars_per_token"),
        ('{"percentiles": [0, 100],', "json"),
    ],
)
def test_bad_profile_names_file_and_field(tmp_path, monkeypatch, body, field):
    (tmp_path / "broken.json").write_text(body, encoding="utf-8")
    monkeypatch.setattr(lengths_module, "PROFILES_DIR", tmp_path)
    load_profile.cache_clear()
    try:
        with pytest.raises(DataError, match=rf"broken\.json(:\d+)?: {field}: "):
            load_profile("broken")
    finally:
        load_profile.cache_clear()


def test_cli_flag(run_cli, tmp_path):
    out = tmp_path / "s.jsonl"
    rc, _, err = run_cli("data", "synth", "--n", "30", "--seed", "2", "--lengths", "reference", "--out", out)
    assert rc == 0, err
    assert load_jsonl(out) == generate(SynthConfig(n=30, seed=2, lengths="reference"))
    rc, _, err = run_cli("data", "synth", "--n", "30", "--lengths", "long", "--out", out)
    assert rc == 2 and "lengths: got 'long'" in err
