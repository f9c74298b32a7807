"""fraudft.experiment.extra_tests: --extra-test NAME=PATH parsed, refused with the flag named, read by the readers."""

from __future__ import annotations

import pytest

from fraudft.core.errors import DataError, UsageError
from fraudft.experiment.extra_tests import evaluation_name, extra_name, load_extra_tests, parse_extra_tests
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate


@pytest.fixture
def files(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(generate(SynthConfig(n=4, seed=5)), a)
    write_jsonl(generate(SynthConfig(n=6, seed=6)), b)
    return a, b


def test_names_paths_and_evaluation_names(files):
    a, b = files
    parsed = parse_extra_tests([f"other={a}", f"second.v2={b}"])
    assert parsed == (("other", str(a)), ("second.v2", str(b)))
    assert parse_extra_tests(f"other={a},second.v2={b}") == parsed  # the env var's form
    assert evaluation_name("other") == "extra:other" and extra_name("extra:other") == "other"
    assert extra_name("test:neutralize_speakers") is None  # a counterfactual's name is never an extra set's
    loaded = load_extra_tests(parsed)
    assert list(loaded) == ["extra:other", "extra:second.v2"] and len(loaded["extra:second.v2"]) == 6
    assert parse_extra_tests(None) == () == parse_extra_tests("")


@pytest.mark.parametrize("spec, match", [
    ("other", "expected NAME=PATH"),
    ("=x.jsonl", "expected NAME=PATH"),
    ("a:b={a}", "NAME 'a:b'"),
    ("test x={a}", "NAME 'test x'"),
    ("other=/no/such/file.jsonl", "no such file"),
])
def test_a_bad_spec_is_a_usage_error_naming_the_flag(files, spec, match):
    with pytest.raises(UsageError, match=match) as err:
        parse_extra_tests([spec.format(a=files[0])])
    assert str(err.value).startswith("--extra-test")


def test_a_name_given_twice_is_refused(files):
    a, b = files
    with pytest.raises(UsageError, match="'other' given twice"):
        parse_extra_tests([f"other={a}", f"other={b}"])


def test_bad_data_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "a: b", "label": "yes"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="bad.jsonl:1: label"):
        load_extra_tests(parse_extra_tests([f"bad={bad}"]))


def test_a_hub_dataset_split_is_an_extra_test_path():
    from fraudft.experiment.extra_tests import parse_extra_tests

    assert parse_extra_tests(["other=someone/fraud-calls:test"]) == (("other", "someone/fraud-calls:test"),)
