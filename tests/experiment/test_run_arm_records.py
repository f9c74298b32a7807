"""`fraudft run-arm` from a tree with uncommitted changes leaves the commit's clean record alone
(it writes under `<commit>-dirty-<diff hash>`), and replaces a successful record only with
--overwrite (issue 32)."""

from __future__ import annotations

import pytest

from fraudft.experiment import runner
from fraudft.experiment.recipes import load_recipe
from fraudft.results import store
from fraudft.results.store import read_record, record_path

CLEAN = {"commit": "c0ffee1234", "dirty": False}
DIRTY = {"commit": "c0ffee1234", "dirty": True, "diff_hash": "0123456789ab"}


@pytest.fixture
def tree(monkeypatch):
    """The tree state run-arm sees: set `tree.state` to CLEAN or DIRTY."""
    class Tree:
        state = CLEAN

    monkeypatch.setattr(store, "git_state", lambda cwd=None: dict(Tree.state))
    monkeypatch.setattr(runner, "git_state", lambda cwd=None: dict(Tree.state))
    return Tree


def test_a_dirty_trees_run_arm_does_not_touch_the_clean_record(tmp_path, tree, run_cli):
    argv = ["run-arm", "--recipe", "smoke", "--arm", "always_fraud", "--results-dir", tmp_path]
    key = load_recipe("smoke").key
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    clean = record_path(tmp_path, "c0ffee1234", key, "always_fraud", 0)
    assert out.splitlines()[-1] == str(clean)
    before = clean.read_bytes()

    tree.state = DIRTY
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    dirty = record_path(tmp_path, "c0ffee1234-dirty-0123456789ab", key, "always_fraud", 0)
    assert out.splitlines()[-1] == str(dirty)
    assert read_record(dirty).dirty and read_record(dirty).run_info["diff_hash"] == "0123456789ab"
    assert clean.read_bytes() == before  # the commit's record as it was
    assert not read_record(clean).dirty


def test_a_clean_record_is_kept_unless_overwrite(tmp_path, tree, run_cli):
    argv = ["run-arm", "--recipe", "smoke", "--arm", "always_fraud", "--results-dir", tmp_path]
    rc, _, err = run_cli(*argv)
    assert rc == 0, err
    path = record_path(tmp_path, "c0ffee1234", load_recipe("smoke").key, "always_fraud", 0)
    before = path.read_bytes()
    rc, out, err = run_cli(*argv)
    assert rc == 4 and out == ""
    assert len(err.strip().splitlines()) == 1 and "a successful record" in err and "--overwrite" in err
    assert path.read_bytes() == before
    rc, out, err = run_cli(*argv, "--overwrite")
    assert rc == 0, err
    assert out.splitlines()[-1] == str(path)
