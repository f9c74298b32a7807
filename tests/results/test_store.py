"""fraudft.results.store: git state, revision resolution, atomic JSON writes, record layout and loading."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from fraudft.results.store import (
    git_state,
    load_records,
    record_path,
    resolve_commit,
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


def test_git_state_dirty_flag(repo):
    clean = git_state(repo)
    assert clean == {"commit": git(repo, "rev-parse", "--short=10", "HEAD"), "dirty": False}
    (repo / "untracked.txt").write_text("new\n")
    assert git_state(repo)["dirty"] is False  # untracked files do not count
    (repo / "tracked.txt").write_text("two\n")
    assert git_state(repo)["dirty"] is True
    git(repo, "add", "tracked.txt")
    assert git_state(repo)["dirty"] is True  # staged but not committed
    git(repo, "commit", "-q", "-m", "second")
    state = git_state(repo)
    assert state["dirty"] is False and state["commit"] != clean["commit"]


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
    reader = open(path, encoding="utf-8")  # a reader holding the old file keeps seeing it whole
    write_json_atomic({"v": 2}, path)
    assert json.load(reader) == {"v": 1}
    reader.close()
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


def test_load_records_reads_every_backend_sorted(tmp_path):
    for backend, arm, seed in (("gpu", "reference", 0), ("cpu-tiny", "untuned", 0), ("cpu-tiny", "reference", 1),
                               ("cpu-tiny", "reference", 0)):
        write_json_atomic({"backend": backend, "arm": arm, "seed": seed}, record_path(tmp_path, "c1", backend, arm, seed))
    records = load_records(tmp_path, "c1")
    assert [(r["backend"], r["arm"], r["seed"]) for r in records] == [
        ("cpu-tiny", "reference", 0), ("cpu-tiny", "reference", 1), ("cpu-tiny", "untuned", 0), ("gpu", "reference", 0)]


def test_load_records_error_for_a_missing_commit(tmp_path):
    write_json_atomic({"arm": "reference"}, record_path(tmp_path, "c1", "cpu-tiny", "reference", 0))
    with pytest.raises(ValueError, match="no records for commit c2"):
        load_records(tmp_path, "c2")
    with pytest.raises(ValueError, match="no records for commit c1"):
        load_records(tmp_path / "absent", "c1")
