"""A tree with uncommitted source changes writes its records under a key of its own
(`<commit>-dirty-<diff hash>`), never over the commit's; a successful record is replaced only on
purpose; the results commands find such folders by name, history leaves them out (issue 32)."""

from __future__ import annotations

import pytest

from fraudft.results.history import order_commits
from fraudft.results.record import Evaluation, RunRecord
from fraudft.results.store import (
    RecordExists,
    git_state,
    load_records,
    resolve_results_commit,
    results_key,
    write_record,
)
from tests.results.conftest import make_record
from tests.results.test_store import git


@pytest.fixture
def source_repo(tmp_path):
    """A git repo with one committed source file (fraudft/code.py)."""
    path = tmp_path / "repo"
    (path / "fraudft").mkdir(parents=True)
    git(path, "init", "-q")
    (path / "fraudft" / "code.py").write_text("x = 1\n")
    git(path, "add", "fraudft/code.py")
    git(path, "commit", "-q", "-m", "first")
    return path


def test_the_dirty_key_is_stable_for_the_same_changes_and_changes_with_them(source_repo):
    clean = git_state(source_repo)
    assert results_key(clean) == clean["commit"]  # a clean tree: the commit's folder
    (source_repo / "fraudft" / "code.py").write_text("x = 2\n")
    first = results_key(git_state(source_repo))
    assert first.startswith(f"{clean['commit']}-dirty-") and first != clean["commit"]
    assert results_key(git_state(source_repo)) == first  # the same changes, the same key
    (source_repo / "fraudft" / "code.py").write_text("x = 3\n")
    other = results_key(git_state(source_repo))
    assert other != first  # another diff
    (source_repo / "fraudft" / "code.py").write_text("x = 2\n")
    assert results_key(git_state(source_repo)) == first  # back to the first changes
    (source_repo / "fraudft" / "new.py").write_text("y = 1\n")
    with_new = results_key(git_state(source_repo))
    assert with_new != first  # an untracked source file counts, by its contents
    (source_repo / "fraudft" / "new.py").write_text("y = 2\n")
    assert results_key(git_state(source_repo)) not in (first, with_new)
    (source_repo / "fraudft" / "new.py").unlink()
    (source_repo / "fraudft" / "code.py").write_text("x = 1\n")
    assert results_key(git_state(source_repo)) == clean["commit"]


def _record(dirty: bool, status: str = "success", diff_hash: str | None = "0123456789ab") -> RunRecord:
    run_info = {"commit": "c0ffee1234", "dirty": dirty, "date": "2026-01-01T00:00:00+00:00", "config": {}}
    if dirty and diff_hash:
        run_info["diff_hash"] = diff_hash
    record = RunRecord(arm="untuned", seed=0, recipe="cpu-tiny", model="tiny", device="cpu", run_info=run_info,
                       train_info={"status": status, "steps": 0} if status == "success" else
                       {"status": "failed", "error": "RuntimeError: boom"}, meta_info={})
    if status == "success":
        record.evaluations = [Evaluation(name="test", labels=[0, 1], predictions=[0, 1], metrics={"n": 2})]
    return record


def test_a_dirty_record_never_replaces_the_commits(tmp_path):
    clean_path = write_record(_record(dirty=False), tmp_path)
    before = clean_path.read_bytes()
    dirty_path = write_record(_record(dirty=True), tmp_path)
    assert dirty_path == tmp_path / "c0ffee1234-dirty-0123456789ab" / "cpu-tiny" / "untuned-seed0.json"
    assert clean_path.read_bytes() == before
    assert [r.dirty for r in load_records(tmp_path, "c0ffee1234")] == [False]
    assert [r.dirty for r in load_records(tmp_path, "c0ffee1234-dirty-0123456789ab")] == [True]


def test_a_successful_record_is_replaced_only_with_overwrite(tmp_path):
    path = write_record(_record(dirty=False), tmp_path, overwrite=False)
    before = path.read_bytes()
    with pytest.raises(RecordExists, match=r"untuned-seed0.json: a successful record .* pass --overwrite"):
        write_record(_record(dirty=False), tmp_path, overwrite=False)
    with pytest.raises(RecordExists):  # a failure does not replace a success either
        write_record(_record(dirty=False, status="failed"), tmp_path, overwrite=False)
    assert path.read_bytes() == before
    write_record(_record(dirty=False, status="failed"), tmp_path, overwrite=True)
    assert load_records(tmp_path, "c0ffee1234")[0].status == "failed"
    # a failed record is no result to keep: replaced without the flag
    write_record(_record(dirty=False), tmp_path, overwrite=False)
    assert load_records(tmp_path, "c0ffee1234")[0].status == "success"


def test_the_results_commands_find_a_dirty_folder_by_name_and_history_leaves_it_out(source_repo, capsys, fake):
    head = git(source_repo, "rev-parse", "--short=10", "HEAD")
    root = source_repo / "results"
    make_record(root, head, "reference")
    make_record(root, f"{head}-dirty-0123456789ab", "reference", dirty=True)
    # HEAD (or its hash) is the commit's folder, never its dirty sibling; the dirty one by its name
    assert resolve_results_commit(root, "HEAD", cwd=source_repo) == head
    assert resolve_results_commit(root, head[:7], cwd=source_repo) == head
    assert resolve_results_commit(root, f"{head}-dirty-0123456789ab", cwd=source_repo) == f"{head}-dirty-0123456789ab"
    rc, out, err = fake.run(capsys, "results", "table", f"{head}-dirty-0123456789ab", "--results-dir", root)
    assert rc == 0, err
    assert "reference" in out and "*" in out  # marked as run from uncommitted changes
    shown, left_out = order_commits([head, f"{head}-dirty-0123456789ab"], "HEAD", source_repo)
    assert [c for c, _ in shown] == [head]
    assert left_out == [(f"{head}-dirty-0123456789ab", f"uncommitted changes on {head}: not a commit of the history")]
