"""fraudft.cli: the `fraudft` command, run in-process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings

import pytest

from fraudft import cli
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.core.errors import DataWarning
from fraudft.data.loading import load_jsonl
from fraudft.data.records import REFERENCE_INSTRUCTION

GOLDEN_INPUT = (
    "发言人3: 现在我所在这个哪里能够工艺能够去把屈光做得很好的，去到这个省级医院是自治区医院跟"
    "广西医科大学这个附属医院他们还可以，他们一直保持比较好的一个一个手术量。\n发言人1: 就是"
)




def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


LONG_FRAUD = (
    "发言人3: 你的快递丢了，我们赔你三百元，请提供验证码。\n"
    "发言人4: 好的，验证码是多少？我现在就去看一下手机短信，稍等一下。\n"
    "发言人3: 快点，不然赔偿就作废了。"
)


@pytest.fixture
def good_file(write_jsonl_lines, make_record):
    return write_jsonl_lines(
        [
            make_record(input="发言人1: 您好，我是银行客服。\n发言人2: 什么事？", label=True, fraud_speaker="发言人1"),
            make_record(input="发言人1: 明天开会吗？\n发言人2: 开。", label=False),
            make_record(input=LONG_FRAUD, label=True),
        ],
        name="good.jsonl",
    )


# --- data validate ----------------------------------------------------------------------------


def test_validate_ok(capsys, good_file):
    rc, out, err = run(capsys, "data", "validate", str(good_file))
    assert rc == 0
    assert out == f"{good_file}: ok, 3 records\n"
    assert err == ""


def test_validate_bad_file(capsys, write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(), make_record(), make_record(label="true")])
    rc, out, err = run(capsys, "data", "validate", str(path))
    assert rc == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert re.fullmatch(rf"error: {re.escape(str(path))}:3: label: got str \"true\", expected a JSON bool.*", lines[0])
    assert out == ""


def test_validate_stops_at_the_first_bad_file(capsys, good_file, write_jsonl_lines):
    bad = write_jsonl_lines(["{not json"])
    rc, out, err = run(capsys, "data", "validate", str(good_file), str(bad))
    assert rc == 2
    assert out == f"{good_file}: ok, 3 records\n"
    assert re.fullmatch(rf"error: {re.escape(str(bad))}:1: json: .*\n", err)


def test_validate_missing_file(capsys, tmp_path):
    rc, _, err = run(capsys, "data", "validate", str(tmp_path / "absent.jsonl"))
    assert rc == 2
    assert err.startswith(f"error: {tmp_path / 'absent.jsonl'}: file: cannot be read")
    assert len(err.splitlines()) == 1


def test_validate_warns_on_empty_inputs(capsys, write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(), make_record(input="")])
    with pytest.warns(DataWarning, match=r"1 record\(s\) with an empty input, at line\(s\) 2"):
        rc, out, _ = run(capsys, "data", "validate", str(path))
    assert rc == 0
    assert out == f"{path}: ok, 2 records\n"


def test_stderr_of_a_real_process(write_jsonl_lines, make_record):
    # Out of process, so that the warning and error lines are printed as a user sees them.
    warn = write_jsonl_lines([make_record(input="")])
    bad = write_jsonl_lines([make_record(), "[1, 2]"])
    proc = subprocess.run(
        [sys.executable, "-m", "fraudft.cli", "data", "validate", str(warn), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == f"{warn}: ok, 1 records\n"
    assert proc.stderr.splitlines() == [
        f"warning: {warn}: 1 record(s) with an empty input, at line(s) 1",
        f"error: {bad}:2: record: got list [1, 2], expected a JSON object",
    ]


BAD_VALUES = {  # a record line that parses (or not) but must not get past loading -> (field, message)
    "deep-nesting": ("[" * 100_000, "record", "nested more than 32 levels deep, expected a flatter value"),
    "deep-field": ('{"input": "x", "label": true, "fraud_speaker": "", "instruction": "", "extra": '
                   + "[" * 5_000 + "]" * 5_000 + "}", "extra", "nested more than 32 levels deep, expected"),
    "long-integer-label": ('{"input": "x", "label": ' + "1" * 5_000 + ', "fraud_speaker": "", "instruction": ""}',
                           "label", "an integer of more than 4300 digits, expected a JSON bool"),
    "lone-surrogate": (r'{"input": "\ud800abc", "label": true, "fraud_speaker": "", "instruction": ""}',
                       "input", r"lone surrogate \ud800 at character 0, expected valid Unicode text"),
}


@pytest.mark.parametrize("kind", BAD_VALUES)
@pytest.mark.parametrize("command", ["validate", "encode", "mitigate"])
def test_bad_values_exit_2_with_one_located_line(capsys, write_jsonl_lines, make_record, tmp_path, kind, command):
    line, field, message = BAD_VALUES[kind]
    path = write_jsonl_lines([make_record(), line], name="bad.jsonl")
    argv = {
        "validate": ["data", "validate", str(path)],
        "encode": ["encode", str(path)],
        "mitigate": ["mitigate", str(path), "--out-dir", str(tmp_path / "out"), "--dedupe", "--keep", "bad"],
    }[command]
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith(f"error: {path}:2: {field}: {message}") and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["data", "frobnicate"])
    assert info.value.code == 2
    capsys.readouterr()


# --- data stats -------------------------------------------------------------------------------


def test_stats_json(capsys, good_file):
    rc, out, _ = run(capsys, "data", "stats", str(good_file), "--json")
    assert rc == 0
    stats = json.loads(out)
    assert list(stats) == [str(good_file)]
    s = stats[str(good_file)]
    assert (s["total_count"], s["true_count"], s["false_count"]) == (3, 2, 1)
    assert s["per_class"]["false"]["turns"]["mean"] == 2.0
    assert s["per_class"]["true"]["chars"]["max"] == float(len(LONG_FRAUD))


def test_stats_human(capsys, good_file, write_jsonl_lines, make_record):
    only_false = write_jsonl_lines([make_record(label=False)], name="false.jsonl")
    rc, out, _ = run(capsys, "data", "stats", str(good_file), str(only_false))
    assert rc == 0
    assert f"{good_file}: total_count:3, true_count: 2, false_count: 1" in out
    assert f"{only_false}: total_count:1, true_count: 0, false_count: 1" in out
    assert re.search(r"label=true  chars: mean [\d.]+, median \d+, min \d+, max \d+", out)
    assert "label=true  chars: no records" in out
    assert out.count("total_count:") == 2


def test_stats_bad_file(capsys, write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(label=1)])
    rc, out, err = run(capsys, "data", "stats", str(path), "--json")
    assert rc == 2 and out == ""
    assert err.startswith(f"error: {path}:1: label: ")


# --- data synth -------------------------------------------------------------------------------


def test_synth(capsys, tmp_path):
    pytest.importorskip("fraudft.synthetic")
    out_path = tmp_path / "synth" / "s.jsonl"
    rc, _, err = run(capsys, "data", "synth", "--n", "50", "--seed", "1", "--out", str(out_path))
    assert rc == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        records = load_jsonl(out_path)
    assert len(records) == 50
    assert f"{out_path}: wrote 50 records" in err
    again = tmp_path / "again.jsonl"
    assert run(capsys, "data", "synth", "--n", "50", "--seed", "1", "--out", str(again))[0] == 0
    assert again.read_bytes() == out_path.read_bytes()  # seeded


# --- encode -----------------------------------------------------------------------------------


@pytest.fixture
def session_tokenizer(monkeypatch, tokenizer):
    """Make `fraudft encode` use the session's tokenizer instead of reloading it (about 1 s a call);
    test_encode alone goes through the real loading."""
    import fraudft.modeling.tokenizer

    requested = []

    def load(name_or_path="qwen2-offline", cache_dir=None, **kwargs):
        requested.append(name_or_path)
        return tokenizer

    monkeypatch.setattr(fraudft.modeling.tokenizer, "load_tokenizer", load)
    return requested


def encode_lines(capsys, *argv) -> tuple[int, list[dict], str]:
    rc, out, err = run(capsys, "encode", *argv)
    return rc, [json.loads(line) for line in out.splitlines()], err


def test_encode(capsys, good_file, tokenizer):
    rc, examples, err = encode_lines(capsys, str(good_file), "--max-length", "80")
    assert rc == 0
    records = load_jsonl(good_file)
    assert len(examples) == len(records)
    encoder = Encoder(tokenizer, EncodeConfig(max_length=80))
    for example, record in zip(examples, records):
        assert set(example) == {"input_ids", "attention_mask", "labels", "truncated"}
        assert len(example["input_ids"]) <= 80
        assert len(example["labels"]) == len(example["attention_mask"]) == len(example["input_ids"])
        assert example == encoder.encode(record)
    n_truncated = sum(e["truncated"] for e in examples)
    assert n_truncated >= 1
    assert err == f"{good_file}: encoded 3 records, {n_truncated} truncated to 80 tokens\n"


def test_encode_golden_record(capsys, write_jsonl_lines, make_record, session_tokenizer):
    # REFERENCE §2; the full 110 ids are checked in test_preprocess.
    path = write_jsonl_lines([make_record(input=GOLDEN_INPUT, instruction=REFERENCE_INSTRUCTION, label=False)])
    # --template chat: the old spelling of --prompt chat_template, whose answer ends with <|im_end|>
    for flags, end in ((["--template", "reference"], 151643), (["--template", "chat"], 151645),
                       (["--prompt", "chat_template"], 151645), ([], 151643)):
        rc, [example], _ = encode_lines(capsys, str(path), *flags)
        assert rc == 0
        assert len(example["input_ids"]) == 110
        assert example["input_ids"][:4] == [151644, 8948, 198, 2610]
        assert example["input_ids"][-12:] == [198, 151644, 77091, 198, 4913, 285, 761, 97957, 788, 895, 92, end]
        assert example["labels"] == [-100] * 102 + [4913, 285, 761, 97957, 788, 895, 92, end]
        assert example["truncated"] is False
    assert session_tokenizer == ["qwen2-offline"] * 4


@pytest.mark.parametrize("max_length", ["5", "0", "-3"])
def test_encode_bad_max_length(capsys, good_file, max_length, session_tokenizer):
    rc, out, err = run(capsys, "encode", str(good_file), "--max-length", max_length)
    assert rc == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: max_length: ")


def test_encode_bad_file(capsys, write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(), {"input": "x"}])
    rc, out, err = run(capsys, "encode", str(path))
    assert rc == 2 and out == ""
    assert err == f"error: {path}:2: label: missing, expected a JSON bool (true or false)\n"


# --- the real eval split ----------------------------------------------------------------------


def test_real_file_validate(capsys, shared_eval_path):
    with pytest.warns(DataWarning, match=r"at line\(s\) 123, 191, 1874"):
        rc, out, _ = run(capsys, "data", "validate", str(shared_eval_path))
    assert rc == 0
    assert out == f"{shared_eval_path}: ok, 2348 records\n"


def test_real_file_encode(capsys, shared_eval_path, tmp_path, session_tokenizer):
    head = tmp_path / "head.jsonl"
    with shared_eval_path.open("rb") as src:
        head.write_bytes(b"".join(next(src) for _ in range(50)))
    rc, examples, err = encode_lines(capsys, str(head), "--max-length", "128")
    assert rc == 0
    assert len(examples) == 50
    assert all(len(e["input_ids"]) <= 128 for e in examples)
    assert any(e["truncated"] for e in examples) and not all(e["truncated"] for e in examples)
    labels = [r["label"] for r in load_jsonl(head)]
    for example, label in zip(examples, labels):
        answer = [4913, 285, 761, 97957, 788, 830 if label else 895, 92, 151643]
        assert example["input_ids"][-8:] == answer
        assert example["labels"] == [-100] * (len(example["labels"]) - 8) + answer
    assert err.startswith(f"{head}: encoded 50 records, ")
