"""fraudft.results.store: git state, revision resolution, atomic JSON writes, record layout, loading and checking."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from fraudft.core.errors import UsageError
from fraudft.results.store import (
    SCHEMA_VERSION,
    git_state,
    group_runs,
    load_records,
    model_of,
    project_dir,
    record_path,
    resolve_commit,
    resolve_results_commit,
    write_json_atomic,
)


def git(repo, *args) -> str:
    out = subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=t", "-c", "commit.gpgsign=false",
         "-c", "init.defaultBranch=main", *args],
        cwd=repo, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A git repo with one commit of one tracked file."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "tracked.txt").write_text("one\n")
    git(path, "add", "tracked.txt")
    git(path, "commit", "-q", "-m", "first")
    return path


# --- resolve_commit and git_state ------------------------------------------------------------------

def test_resolve_commit_gives_the_short_hash(repo):
    full = git(repo, "rev-parse", "HEAD")
    assert resolve_commit("HEAD", cwd=repo) == full[:10]
    assert resolve_commit("main", cwd=repo) == full[:10]
    assert resolve_commit(full, cwd=repo) == full[:10]
    assert resolve_commit(full[:7], cwd=repo) == full[:10]


def test_resolve_commit_rejects_an_unknown_revision(repo, tmp_path):
    with pytest.raises(ValueError, match="'nosuchbranch' is not a git revision"):
        resolve_commit("nosuchbranch", cwd=repo)
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(ValueError, match="not a git revision"):
        resolve_commit("HEAD", cwd=outside)


def test_git_state_dirty_flag_counts_source_changes_tracked_or_not(repo):
    (repo / "fraudft").mkdir()
    (repo / "fraudft" / "code.py").write_text("x = 1\n")
    git(repo, "add", "fraudft/code.py")
    git(repo, "commit", "-q", "-m", "code")
    clean = git_state(repo)
    assert clean == {"commit": git(repo, "rev-parse", "--short=10", "HEAD"), "dirty": False}
    (repo / "results").mkdir()
    (repo / "results" / "record.json").write_text("{}\n")
    assert git_state(repo)["dirty"] is False  # records written by a run are not source
    (repo / "fraudft" / "new.py").write_text("y = 2\n")
    assert git_state(repo)["dirty"] is True  # an untracked source file is
    (repo / "fraudft" / "new.py").unlink()
    (repo / "fraudft" / "code.py").write_text("x = 2\n")
    assert git_state(repo)["dirty"] is True
    git(repo, "add", "fraudft/code.py")
    assert git_state(repo)["dirty"] is True  # staged but not committed
    git(repo, "commit", "-q", "-m", "second")
    state = git_state(repo)
    assert state["dirty"] is False and state["commit"] != clean["commit"]


def test_git_state_asks_the_project_folder_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git checkout
    assert git_state() == git_state(project_dir())



def test_git_state_outside_a_repo(tmp_path):
    assert git_state(tmp_path) == {"commit": "nogit", "dirty": False}


# --- write_json_atomic --------------------------------------------------------------------------

def test_write_json_atomic_writes_utf8_and_makes_folders(tmp_path):
    path = tmp_path / "a" / "b" / "record.json"
    write_json_atomic({"input": "发言人1: 你好", "n": 1}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"input": "发言人1: 你好", "n": 1}
    assert "发言人1" in path.read_bytes().decode("utf-8")  # not \\u escapes
    assert os.listdir(path.parent) == ["record.json"]


def test_write_json_atomic_replaces_by_rename(tmp_path):
    path = tmp_path / "record.json"
    write_json_atomic({"v": 1}, path)
    inode = path.stat().st_ino
    with open(path, encoding="utf-8") as reader:  # a reader holding the old file keeps seeing it whole
        write_json_atomic({"v": 2}, path)
        assert json.load(reader) == {"v": 1}
    assert json.loads(path.read_text()) == {"v": 2}
    assert path.stat().st_ino != inode  # a new file renamed into place, not rewritten in place
    assert os.listdir(tmp_path) == ["record.json"]


def test_write_json_atomic_failure_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "record.json"
    write_json_atomic({"v": 1}, path)
    circular: dict = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular reference"):
        write_json_atomic(circular, path)
    assert json.loads(path.read_text()) == {"v": 1}
    assert os.listdir(tmp_path) == ["record.json"]


def test_write_json_atomic_stringifies_unknown_objects(tmp_path):
    path = tmp_path / "record.json"
    write_json_atomic({"path": tmp_path}, path)
    assert json.loads(path.read_text()) == {"path": str(tmp_path)}


# --- record_path and load_records ---------------------------------------------------------------

def test_record_path_layout(tmp_path):
    assert record_path(tmp_path, "abc1234567", "cpu-tiny", "reference", 2) == \
        tmp_path / "abc1234567" / "cpu-tiny" / "reference-seed2.json"


def _minimal(recipe: str, arm: str, seed: int, **extra) -> dict:
    return {"schema": SCHEMA_VERSION, "backend": recipe, "arm": arm, "seed": seed,
            "train_info": {"status": "failed", "error": "E"}, **extra}


def test_load_records_reads_every_recipe_sorted(tmp_path):
    for recipe, arm, seed in (("gpu", "reference", 0), ("cpu-tiny", "untuned", 0), ("cpu-tiny", "reference", 1),
                              ("cpu-tiny", "reference", 0)):
        write_json_atomic(_minimal(recipe, arm, seed), record_path(tmp_path, "c1", recipe, arm, seed))
    records = load_records(tmp_path, "c1")
    assert [(r.recipe, r.arm, r.seed) for r in records] == [
        ("cpu-tiny", "untuned", 0), ("cpu-tiny", "reference", 0), ("cpu-tiny", "reference", 1),
        ("gpu", "reference", 0)]  # arms in arms.toml order
    assert records[0].path.endswith("c1/cpu-tiny/untuned-seed0.json")
    assert [r.recipe for r in load_records(tmp_path, "c1", "gpu")] == ["gpu"]
    with pytest.raises(UsageError, match="--recipe: no 'tpu' records for c1, expected one of cpu-tiny, gpu"):
        load_records(tmp_path, "c1", "tpu")


def test_load_records_error_for_a_missing_commit_lists_the_others(tmp_path):
    write_json_atomic(_minimal("cpu-tiny", "reference", 0), record_path(tmp_path, "c1", "cpu-tiny", "reference", 0))
    with pytest.raises(UsageError, match=r"no records for c2 under .*commits with records: c1 \(1 records"):
        load_records(tmp_path, "c2")
    with pytest.raises(UsageError, match="no results dir"):
        load_records(tmp_path / "absent", "c1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds none yet"):
        load_records(tmp_path / "empty", "c1")


@pytest.mark.parametrize("content, why", [
    ('{"schema": 1, "arm": "refer', "not a readable JSON record"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"arm": "reference", "train_info": {"status": "success"}}', "schema: got None, expected one of 1, 2"),
    ('{"schema": 99, "train_info": {"status": "success"}}', "schema: got 99, expected one of 1, 2"),
    ('{"schema": 1, "arm": "reference"}', "train_info: expected an object"),
    ('{"schema": 2, "train_info": {}}', "train_info.status: got '?', expected success or failed"),
    ('{"schema": 2, "train_info": {"status": "success"}}', "evaluations: a successful run needs"),
    ('{"schema": 2, "train_info": {"status": "success"}, "evaluations": [{"name": "test", "labels": [1, 0], '
     '"predictions": [1, 0], "scores": [0.9]}]}', "evaluations[test].scores: got 1, expected 2 scores"),
    ('{"schema": 2, "train_info": {"status": "success"}, "evaluations": [{"name": "test", "labels": [1, 0], '
     '"predictions": [1, 0], "scores": [0.9, 1.5]}]}', "evaluations[test].scores: expected numbers in [0, 1]"),
    ('{"schema": 2, "train_info": {"status": "success"}, "evaluations": [{"name": "other", "labels": [1], '
     '"predictions": [1]}]}', "the first must be 'test'"),
    ('{"schema": 1, "train_info": {"status": "success"}, "predictions": [1]}', "metrics: missing"),
    ('{"schema": 1, "train_info": {"status": "success"}, "metrics": {}}', "predictions: expected a non-empty list"),
    ('{"schema": 1, "train_info": {"status": "success"}, "metrics": {}, "predictions": [1, 0], "labels": [1]}',
     "labels: expected 2 values of 0/1"),
    ('{"schema": 2, "train_info": {"status": "success"}, "evaluations": [{"name": "test", "labels": [1, 0], '
     '"predictions": [1, 0], "replies": ["{}"], "reply_status": ["ok", "ok"]}]}',
     "evaluations[test].replies: expected 2 strings"),
])
def test_a_partial_or_corrupt_record_is_named_never_read(tmp_path, content, why):
    write_json_atomic(_minimal("cpu-tiny", "reference", 0), record_path(tmp_path, "c1", "cpu-tiny", "reference", 0))
    bad = record_path(tmp_path, "c1", "cpu-tiny", "alpha_r4", 0)
    bad.write_text(content)
    with pytest.raises(UsageError) as err:
        load_records(tmp_path, "c1")
    message = str(err.value)
    assert f"{bad}: not a" in message and why in message and "\n" not in message


def test_every_bad_record_is_named_in_one_line(tmp_path):
    for arm in ("alpha_r4", "rslora"):
        record_path(tmp_path, "c1", "cpu-tiny", arm, 0).parent.mkdir(parents=True, exist_ok=True)
        record_path(tmp_path, "c1", "cpu-tiny", arm, 0).write_text("{")
    with pytest.raises(UsageError, match="2 bad record files") as err:
        load_records(tmp_path, "c1")
    assert "alpha_r4-seed0.json" in str(err.value) and "rslora-seed0.json" in str(err.value)


def test_temp_files_of_a_writer_are_not_records(tmp_path):
    write_json_atomic(_minimal("cpu-tiny", "reference", 0), record_path(tmp_path, "c1", "cpu-tiny", "reference", 0))
    (tmp_path / "c1" / "cpu-tiny" / ".alpha_r4-seed0.json.abc123.tmp").write_text('{"half": ')
    (tmp_path / "c1" / "cpu-tiny" / ".hidden-seed0.json").write_text('{"half": ')
    assert [r.arm for r in load_records(tmp_path, "c1")] == ["reference"]


def test_other_json_files_are_not_records(tmp_path):
    """bench/gpu_check.py writes <commit>/gpu-check/train-*.json: no record layout, so not read as results."""
    write_json_atomic(_minimal("cpu-tiny", "reference", 0), record_path(tmp_path, "c1", "cpu-tiny", "reference", 0))
    write_json_atomic({"check": "train-full-gc"}, tmp_path / "c1" / "gpu-check" / "train-full-gc.json")
    assert [r.recipe for r in load_records(tmp_path, "c1")] == ["cpu-tiny"]


def test_runs_are_keyed_by_recipe_folder_and_arm(tmp_path):
    """A record's folder is its recipe: runs of two recipes are two arms even if their `backend` fields agree."""
    for recipe in ("cpu-tiny", "cpu-tiny-copy"):
        write_json_atomic(_minimal("cpu-tiny", "reference", 0), record_path(tmp_path, "c1", recipe, "reference", 0))
    groups = group_runs(load_records(tmp_path, "c1"))
    assert list(groups) == [("cpu-tiny", "reference"), ("cpu-tiny-copy", "reference")]


def test_model_of_reads_the_recipe_config_else_the_folder(tmp_path):
    record = _minimal("gpu", "reference", 0, run_info={"config": {"backend": {"name": "gpu", "model": "qwen2-0.5b"}}})
    write_json_atomic(record, record_path(tmp_path, "c1", "gpu", "reference", 0))
    write_json_atomic(_minimal("cpu-tiny", "reference", 0), record_path(tmp_path, "c1", "cpu-tiny", "reference", 0))
    models = {r.recipe: model_of(r) for r in load_records(tmp_path, "c1")}
    assert models == {"gpu": "qwen2-0.5b", "cpu-tiny": "cpu-tiny"}


def test_rev_is_a_folder_or_a_git_revision(repo, tmp_path, monkeypatch):
    head = git(repo, "rev-parse", "--short=10", "HEAD")
    root = tmp_path / "results"
    write_json_atomic(_minimal("cpu-tiny", "reference", 0), record_path(root, head, "cpu-tiny", "reference", 0))
    write_json_atomic(_minimal("cpu-tiny", "untuned", 0), record_path(root, "HEAD", "cpu-tiny", "untuned", 0))
    monkeypatch.chdir(repo)
    assert resolve_results_commit(root, head) == head
    assert resolve_results_commit(root, "HEAD") == "HEAD"  # a folder named like a revision wins
    (root / "HEAD" / "cpu-tiny" / "untuned-seed0.json").unlink()
    (root / "HEAD" / "cpu-tiny").rmdir()
    (root / "HEAD").rmdir()
    assert resolve_results_commit(root, "HEAD") == head
    assert resolve_results_commit(root, head[:7]) == head  # an abbreviated hash
    with pytest.raises(UsageError, match="nosuchrev .neither a folder there nor a git revision here"):
        resolve_results_commit(root, "nosuchrev")


def test_without_a_rev_the_newest_commit_with_records_on_heads_line_is_shown(tmp_path, fake, monkeypatch):
    """A new commit has no records until the bench runs on it: `results table` (no REV) shows the
    newest commit with records on HEAD's first-parent line, in git order (file times say nothing in a
    fresh clone), and says so."""
    import subprocess

    from fraudft.results.store import resolve_default_commit

    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    commits = []
    for i in range(3):
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", f"c{i}")
        commits.append(git("rev-parse", "HEAD")[:10])
    root = tmp_path / "results"
    fake.record(root, commits[1], "reference")  # written last, but older in git than...
    fake.record(root, commits[0], "reference")
    monkeypatch.chdir(tmp_path)
    assert resolve_default_commit(root) == (commits[1], resolve_default_commit(root)[1])
    assert "has no records" in resolve_default_commit(root)[1] and commits[1] in resolve_default_commit(root)[1]
    fake.record(root, commits[2], "reference")  # HEAD has records: no note
    assert resolve_default_commit(root) == (commits[2], None)
