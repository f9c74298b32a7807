"""Tests for fraudft.synthetic.scripts: the JSON templates load, and bad files name file and field."""

import json
import random
import shutil

import pytest

from fraudft.core.errors import DataError
from fraudft.synthetic.scripts import (
    FILLERS,
    FRAUD_SCRIPTS,
    NEGATIVE_SCRIPTS,
    PHRASE_FIELDS,
    PHRASES,
    TEMPLATES_DIR,
    load_fillers,
    load_phrases,
    load_scripts,
)

GOOD = json.loads((TEMPLATES_DIR / "fraud" / "01_police_impersonation.json").read_text(encoding="utf-8"))


def test_shipped_templates_load_in_file_name_order():
    assert [s.name for s in FRAUD_SCRIPTS][:2] == ["police_impersonation", "fake_customer_service"]
    assert len(FRAUD_SCRIPTS) == 10 and len(NEGATIVE_SCRIPTS) == 12
    assert set(PHRASES) == set(PHRASE_FIELDS)
    assert {s.name for s in FRAUD_SCRIPTS}.isdisjoint(s.name for s in NEGATIVE_SCRIPTS)


def test_fillers_draw_from_their_spec():
    rng = random.Random(0)
    assert FILLERS["bank"](rng).endswith("银行")
    tail = FILLERS["tail"](rng)
    assert len(tail) == 4 and tail.isdigit()
    assert 1000 <= int(FILLERS["id"](rng)) < 100000


def write_script(tmp_path, name="01_x.json", **changes):
    folder = tmp_path / "fraud"
    folder.mkdir(exist_ok=True)
    data = {**GOOD, **changes}
    (folder / name).write_text(json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (dict(core=None), "core", "missing field"),
        (dict(extra=["x"]), "extra", "unknown field"),
        (dict(core=GOOD["core"][:5]), "core", "at least 6 strings"),
        (dict(roles="民警"), "roles", "expected a list"),
        (dict(opening=["你好。", ""]), r"opening\[1\]", "non-empty string"),
        (dict(opening=["你好。", "你好。"]), "opening", "duplicate"),
        (dict(closing=["快转账！"]), r"closing\[0\]", "no '！'"),
        (dict(closing=["发言人1: 你好。"]), r"closing\[0\]", "no '！', ':'"),
        (dict(replies=["好的"]), r"replies\[0\]", "end with"),
        (dict(core=[*GOOD["core"][:5], "转到{account}账户。"]), r"core\[5\]", r"unknown slot \{account\}"),
        (dict(core=[*GOOD["core"][:5], "转到{bank账户。"]), r"core\[5\]", "slot"),
    ],
)
def test_bad_script_names_file_and_field(tmp_path, changes, field, message):
    folder = write_script(tmp_path, **changes)
    with pytest.raises(DataError, match=rf"01_x\.json: {field}: .*{message}"):
        load_scripts(folder)


def test_bad_json_names_file_and_line(tmp_path):
    folder = tmp_path / "fraud"
    folder.mkdir()
    (folder / "01_x.json").write_text('{\n  "roles": ["a"],\n}', encoding="utf-8")
    with pytest.raises(DataError, match=r"01_x\.json:3: json: "):
        load_scripts(folder)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no \\*.json files"):
        load_scripts(tmp_path)


def test_own_folder_loads_with_its_name(tmp_path):
    folder = write_script(tmp_path, name="07_my_scheme.json")
    assert [s.name for s in load_scripts(folder)] == ["my_scheme"]


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"randrange": [5, 5], "format": "{}"}, "x.randrange"),
        ({"randrange": [0, 9], "format": "{:q}"}, "x.format"),
        ({"randrange": [0, 9]}, "x"),
        ([], "x"),
    ],
)
def test_bad_filler_names_field(tmp_path, spec, field):
    path = tmp_path / "fillers.json"
    path.write_text(json.dumps({"x": spec}), encoding="utf-8")
    with pytest.raises(DataError, match=rf"fillers\.json: {field}: "):
        load_fillers(path)


def test_bad_phrases_names_field(tmp_path):
    path = tmp_path / "phrases.json"
    shutil.copy(TEMPLATES_DIR / "phrases.json", path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["neutral_replies"] = ["嗯！"]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DataError, match=r"phrases\.json: neutral_replies\[0\]: .*'！'"):
        load_phrases(path)
