"""fraudft.data.transforms: neutral speaker ids, cross-split dedupe, dropping shared lines, and the CLI."""

from __future__ import annotations

import copy
import json
import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudft.audit import audit
from fraudft.data.dialogue import speaker_format, speakers_of
from fraudft.data.loading import load_jsonl
from fraudft.data.records import REFERENCE_INSTRUCTION, write_jsonl
from fraudft.synthetic import SynthConfig, generate
from fraudft.data.transforms import (
    describe_change,
    drop_cross_split_duplicates,
    drop_shared_lines,
    drop_within_split_duplicates,
    neutralize_speakers,
)


def record(input: str, label: bool, fraud_speaker: str = "") -> dict:
    return {"input": input, "label": label, "fraud_speaker": fraud_speaker, "instruction": REFERENCE_INSTRUCTION}


def han(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def random_split(rng: random.Random, n: int) -> list[dict]:
    return [
        record("\n".join(f"发言人{k % 2 + 1}: {han(rng, 20)}。" for k in range(3)), i % 2 == 0, "发言人1" if i % 2 == 0 else "")
        for i in range(n)
    ]


# --- neutralize_speakers ---------------------------------------------------------------------


def test_neutralize_maps_in_order_of_first_appearance():
    records = [
        record("李强: 喂？\n张伟: 我是客服。\n李强: 什么事？\n王芳: 谁啊", True, "张伟"),
        record("发言人3: 好的。\n发言人1：嗯。", False),
        record("客服: 您好\n第一，这一行没有说话人\n\n客服: 再见", True, "客服"),
    ]
    before = copy.deepcopy(records)
    out, change = neutralize_speakers(records)
    assert records == before  # the input is left untouched
    assert out[0]["input"] == "发言人1: 喂？\n发言人2: 我是客服。\n发言人1: 什么事？\n发言人3: 谁啊"
    assert out[0]["fraud_speaker"] == "发言人2"
    assert out[1]["input"] == "发言人1: 好的。\n发言人2：嗯。"  # separators kept as written
    assert out[2]["input"] == "发言人1: 您好\n第一，这一行没有说话人\n\n发言人1: 再见"
    assert out[2]["fraud_speaker"] == "发言人1"
    assert change["records"] == 3 and change["records_changed"] == 3
    assert change["fraud_speaker_renamed"] == 2 and change["fraud_speaker_not_found"] == []
    assert change["distinct_tags_after"] == 3


def test_neutralize_reports_fraud_speaker_not_found():
    out, change = neutralize_speakers([record("王五: 转账\n李强: 好", True, "赵六"), record("A: x", False)])
    assert out[0]["fraud_speaker"] == "赵六" and change["fraud_speaker_not_found"] == [1]


def test_neutralize_keeps_extra_fields_and_rejects_bad_prefix():
    out, _ = neutralize_speakers([{**record("甲: 一", False), "reason": "因为"}])
    assert out[0]["reason"] == "因为"
    with pytest.raises(ValueError):
        neutralize_speakers([], prefix="a:")


speaker_names = st.sampled_from(["张伟", "李明", "客服", "诈骗者", "发言人7", "发言人1", "小王", "Speaker 2", "王女士"])


@st.composite
def dialogues(draw):
    names = draw(st.lists(speaker_names, min_size=1, max_size=4, unique=True))
    turns = draw(st.lists(st.tuples(st.sampled_from(names), st.text("你好吗转账验证码。，？！12 ", min_size=1, max_size=12)),
                          min_size=1, max_size=8))
    label = draw(st.booleans())
    spoken = list(dict.fromkeys(name for name, _ in turns))
    fraud_speaker = draw(st.sampled_from(spoken)) if label else ""
    return record("\n".join(f"{name}: {text}" for name, text in turns), label, fraud_speaker), turns


@settings(max_examples=60, deadline=None)
@given(dialogues())
def test_neutralize_is_consistent(case):
    rec, turns = case
    (out,), _ = neutralize_speakers([rec])
    spoken = list(dict.fromkeys(name for name, _ in turns))
    mapping = {name: f"发言人{k}" for k, name in enumerate(spoken, start=1)}
    assert out["input"] == "\n".join(f"{mapping[name]}: {text}" for name, text in turns)
    assert speakers_of(out["input"]) == [f"发言人{k}" for k in range(1, len(spoken) + 1)]
    assert all(speaker_format(tag) == "numbered" for tag in speakers_of(out["input"]))
    if rec["label"]:
        assert out["fraud_speaker"] == mapping[rec["fraud_speaker"]]
        assert out["fraud_speaker"] in speakers_of(out["input"])
    else:
        assert out["fraud_speaker"] == ""
    assert neutralize_speakers([out])[0] == [out]  # idempotent


def test_neutralize_removes_the_planted_speaker_tag_shortcut():
    records = generate(SynthConfig(n=600, seed=0, shortcut="speaker_tag"))
    assert [f.level for f in audit({"train": records}).select("speaker_tags")] == ["fail"]
    out, _ = neutralize_speakers(records)
    report = audit({"train": out})
    assert [f.level for f in report.select("speaker_tags")] == ["info"]
    assert all(r["fraud_speaker"] in speakers_of(r["input"]) for r in out if r["label"])


# --- drop_cross_split_duplicates and drop_shared_lines ---------------------------------------


@pytest.fixture
def planted():
    """train 100, eval 40, test 30 records of unique lines. eval 0, 5, 9 and test 3 repeat train
    inputs (whitespace changed); eval 20 and 21 repeat each other only; eval 30-32 carry one line
    of a train record each."""
    rng = random.Random(11)
    splits = {"train": random_split(rng, 100), "eval": random_split(rng, 40), "test": random_split(rng, 30)}
    for name, k, source in (("eval", 0, 10), ("eval", 5, 11), ("eval", 9, 12), ("test", 3, 13)):
        splits[name][k] = {**splits["train"][source], "input": splits["train"][source]["input"].replace(": ", ":  ") + "\n"}
    splits["eval"][21] = dict(splits["eval"][20])
    for k, source in zip((30, 31, 32), (50, 51, 52)):
        lines = splits["eval"][k]["input"].split("\n")
        lines[2] = "客服: " + splits["train"][source]["input"].split("\n")[0].split(": ", 1)[1]
        splits["eval"][k] = {**splits["eval"][k], "input": "\n".join(lines)}
    return splits


def test_dedupe_removes_exactly_the_planted_duplicates(planted):
    before = copy.deepcopy(planted)
    out, change = drop_cross_split_duplicates(planted, keep="train")
    assert planted == before
    assert out["train"] == planted["train"]
    assert change["splits"]["eval"] == {"before": 40, "after": 37, "dropped": 3, "dropped_lines": [1, 6, 10]}
    assert change["splits"]["test"] == {"before": 30, "after": 29, "dropped": 1, "dropped_lines": [4]}
    assert change["splits"]["train"]["dropped"] == 0
    assert out["eval"] == [r for i, r in enumerate(planted["eval"]) if i not in (0, 5, 9)]
    leak = audit(out).select("leakage")
    assert all(f.figures[a]["duplicated"] == 0 for f in leak for a in f.figures["pair"] if "train" in f.figures["pair"])


def test_dedupe_needs_the_kept_split(planted):
    with pytest.raises(ValueError, match="keep"):
        drop_cross_split_duplicates(planted, keep="dev")
    out, change = drop_cross_split_duplicates(planted, keep="eval")
    assert change["splits"]["train"]["dropped_lines"] == [11, 12, 13]


def test_empty_inputs_are_not_duplicates():
    splits = {"train": [record("", False), record("A: 你好", True, "A")], "eval": [record(" ", False)]}
    out, change = drop_cross_split_duplicates(splits)
    assert change["splits"]["eval"]["dropped"] == 0


def test_dedupe_removes_width_only_variants_as_the_audit_reports_them(planted):
    # eval 2: train 20 rewritten with ASCII `.` for `。` and full-width speaker digits (issue 16, item 4)
    source = planted["train"][20]["input"]
    planted["eval"][2] = {**planted["train"][20], "input": source.replace("。", ".").replace("发言人1", "发言人１")}
    out, change = drop_cross_split_duplicates(planted, keep="train")
    assert change["splits"]["eval"]["dropped_lines"] == [1, 3, 6, 10]
    reported = [f for f in audit(planted).select("leakage") if f.figures["pair"] == ["train", "eval"]][0]
    assert reported.figures["eval"]["duplicated_lines"] == change["splits"]["eval"]["dropped_lines"]


def test_dedupe_inside_a_split_keeps_the_first_and_drops_conflicting_groups():
    rng = random.Random(3)
    records = random_split(rng, 10)
    records[4] = {**records[1], "input": records[1]["input"].replace(": ", ":  ")}  # a copy of 2 (line 5)
    records[7] = dict(records[1])  # and another (line 8)
    records[6] = {**records[2], "label": not records[2]["label"]}  # 3 and 7 conflict
    records[9] = dict(records[2])  # 10 joins the conflicting group
    before = copy.deepcopy(records)
    out, change = drop_within_split_duplicates(records)
    assert records == before
    assert out == [r for i, r in enumerate(records) if i + 1 not in (3, 5, 7, 8, 10)]
    assert change["duplicates"] == [{"kept": 2, "dropped": [5, 8]}] and change["conflicts"] == [[3, 7, 10]]
    assert change["dropped_lines"] == [3, 5, 7, 8, 10] and (change["before"], change["after"]) == (10, 5)
    [line] = describe_change(change, "row")
    assert line == ("10 -> 5 records (5 dropped); 2 repeat(s) of an earlier record: row(s) 5 (= 2), 8 (= 2); "
                    "1 group(s) with conflicting labels, dropped whole: row(s) 3, 7, 10")
    assert audit({"train": out}).select("duplicates")[0].figures["groups"] == 0
    assert drop_within_split_duplicates(out)[1]["dropped"] == 0


def test_neutralize_keeps_line_endings():
    out, _ = neutralize_speakers([record("张伟: 喂\r\n李强: 谁\r王芳: 我\n张伟: 好", True, "张伟")])
    assert out[0]["input"] == "发言人1: 喂\r\n发言人2: 谁\r发言人3: 我\n发言人1: 好"


def test_drop_shared_lines(planted):
    out, change = drop_shared_lines(planted, keep="train")
    assert change["splits"]["eval"]["dropped_lines"] == [1, 6, 10, 31, 32, 33]
    assert change["splits"]["test"]["dropped_lines"] == [4]
    assert len(out["eval"]) == 34 and out["train"] == planted["train"]
    for finding in audit(out).select("leakage"):
        if "train" in finding.figures["pair"]:
            assert finding.level == "info"


# --- CLI -------------------------------------------------------------------------------------


def test_cli_mitigate_writes_files_and_prints_changes(tmp_path, run_cli, planted):
    planted["eval"][7] = {**planted["eval"][7], "input": "张伟: 你好\n李强: 转账", "label": True, "fraud_speaker": "张伟"}
    paths = []
    for name, records in planted.items():
        paths.append(tmp_path / "in" / f"{name}.jsonl")
        write_jsonl(records, paths[-1])
    out_dir = tmp_path / "out"
    rc, out, err = run_cli("mitigate", "--neutralize-speakers", "--dedupe", *paths, "--out-dir", out_dir)
    assert rc == 0, err
    assert "neutralize_speakers:" in out and "drop_cross_split_duplicates:" in out
    # eval 21 repeats eval 20 (lines 22 and 21): dropped inside the split first
    assert "eval: 40 -> 39 records (1 dropped); 1 repeat(s) of an earlier record: line(s) 22 (= 21)" in out
    assert "eval: 39 -> 36 records (3 dropped)" in out and "test: 30 -> 29 records (1 dropped)" in out
    written = {name: load_jsonl(out_dir / f"{name}.jsonl") for name in planted}
    assert [len(v) for v in written.values()] == [100, 36, 29]
    # eval 0 and 5 were dropped before it: the planted record at eval index 7 is now at index 5
    assert written["eval"][5]["input"] == "发言人1: 你好\n发言人2: 转账" and written["eval"][5]["fraud_speaker"] == "发言人1"
    rc, out, _ = run_cli("mitigate", "--drop-shared-lines", "--json", *paths, "--out-dir", out_dir)
    assert rc == 0
    assert json.loads(out)["changes"]["drop_shared_lines"]["splits"]["eval"]["dropped"] == 6


def test_cli_mitigate_dedupe_removes_a_full_width_variant(tmp_path, run_cli, planted):
    wide = planted["train"][20]["input"].replace("。", "．").replace(": ", "：")  # full-width stop and colon
    planted["test"][5] = {**planted["train"][20], "input": wide}
    paths = []
    for name, records in planted.items():
        paths.append(tmp_path / "in" / f"{name}.jsonl")
        write_jsonl(records, paths[-1])
    rc, out, err = run_cli("mitigate", "--dedupe", *paths, "--out-dir", tmp_path / "out")
    assert rc == 0, err
    assert "test: 30 -> 28 records (2 dropped)" in out
    assert wide not in [r["input"] for r in load_jsonl(tmp_path / "out" / "test.jsonl")]


def test_cli_mitigate_dedupe_inside_splits_numbers_records_as_in_the_files(tmp_path, run_cli, planted):
    planted["test"][20] = {**planted["test"][2], "label": not planted["test"][2]["label"]}  # test rows 3 and 21 conflict
    planted["train"][50] = dict(planted["train"][5])  # train row 51 repeats row 6
    paths = []
    (tmp_path / "in").mkdir()
    for name, records in planted.items():
        paths.append(tmp_path / "in" / f"{name}.csv")
        pd.DataFrame(records).to_csv(paths[-1], index=False)
    rc, out, err = run_cli("mitigate", "--dedupe", "--json", *paths, "--out-dir", tmp_path / "out")
    assert rc == 0, err
    changes = json.loads(out)["changes"]
    within = changes["drop_within_split_duplicates"]
    assert within["train"]["duplicates"] == [{"kept": 6, "dropped": [51]}] and within["train"]["conflicts"] == []
    assert within["test"]["conflicts"] == [[3, 21]] and within["test"]["dropped_lines"] == [3, 21]
    assert within["eval"]["duplicates"] == [{"kept": 21, "dropped": [22]}]
    # after those, the cross-split drops are still named by the rows of the files
    assert changes["drop_cross_split_duplicates"]["splits"]["eval"]["dropped_lines"] == [1, 6, 10]
    assert changes["drop_cross_split_duplicates"]["splits"]["test"]["dropped_lines"] == [4]
    written = {name: load_jsonl(tmp_path / "out" / f"{name}.jsonl") for name in planted}
    assert [len(v) for v in written.values()] == [99, 36, 27]
    rc, out, _ = run_cli("mitigate", "--dedupe", *paths, "--out-dir", tmp_path / "out2")
    assert "1 group(s) with conflicting labels, dropped whole: row(s) 3, 21" in out
    rc, out, _ = run_cli("audit", *[tmp_path / "out" / f"{name}.jsonl" for name in planted], "--tokenizer", "none", "--json")
    assert all(f["level"] == "info" for f in json.loads(out)["findings"] if f["check"] == "duplicates")


def test_cli_mitigate_errors(tmp_path, run_cli, planted):
    path = tmp_path / "eval.jsonl"
    write_jsonl(planted["eval"], path)
    rc, _, err = run_cli("mitigate", path, "--out-dir", tmp_path / "out")
    assert rc == 2 and "no transform" in err
    rc, _, err = run_cli("mitigate", "--dedupe", path, "--out-dir", tmp_path / "out")
    assert rc == 2 and "--keep" in err
    rc, _, err = run_cli("mitigate", "--neutralize-speakers", path, "--out-dir", tmp_path)
    assert rc == 2 and "overwrite" in err
    assert load_jsonl(path) == planted["eval"]
