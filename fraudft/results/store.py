"""The record store: one JSON file per arm and run, grouped by the commit and recipe that produced them.

    results/<commit>/<recipe>/<arm>-seed<N>.json
    results/<commit>-dirty-<diff hash>/<recipe>/<arm>-seed<N>.json    # run from uncommitted changes

    from fraudft.results.store import load_records, resolve_results_commit
    records = load_records("results", resolve_results_commit("results", "HEAD"))

Each file holds one fraudft.results.record.RunRecord (run, train and meta info, named evaluations);
the store writes records atomically, finds a commit's records, and names every file that is not a
whole record (never reads it as a result). A record's runs are keyed by its recipe folder and arm:
runs of different recipes are never one arm.

A tree with uncommitted changes under SOURCE_PATHS writes under a key of its own,
`<commit>-dirty-<diff hash>` (git_state: the hash of `git diff HEAD` and of the untracked source
files), so its records never replace the commit's; the same changes give the same key. A
successful record is replaced only when the writer says so (`overwrite`: run-arm's --overwrite,
grid's and the bench's --rerun). Such folders are found by name like any other
(`fraudft results table <commit>-dirty-<hash>`); `results history` follows git's first-parent
commits, so they are not part of it (it names them as left out).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from fraudft.configs import arm_order
from fraudft.core import jsonio
from fraudft.core.errors import UsageError
from fraudft.results.record import SCHEMA_VERSION, RecordError, RunRecord

__all__ = ["SCHEMA_VERSION", "RunRecord", "load_records", "read_record", "write_record", "group_runs"]
# Installed versions recorded with every run. triton matters even unused: transformers imports it
# where it is installed (measured on the CPU dev machine: 18% slower cpu-tiny training, +110 MiB RSS).
LIBRARIES = ("torch", "transformers", "peft", "accelerate", "tokenizers", "datasets", "scikit-learn", "pandas",
             "triton", "liger-kernel")


def _git(*args: str, cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


SOURCE_PATHS = ("fraudft", "bench", "tests", "conftest.py", "pyproject.toml")  # what a run's code is made of


def project_dir() -> Path:
    """The checkout fraudft runs from (where its package folder lies), whatever the current directory."""
    return Path(__file__).resolve().parents[2]


def git_state(cwd: Path | None = None) -> dict:
    """The commit the code runs from (short hash, or "nogit"), whether its source has uncommitted
    or untracked changes, and, when it has, `diff_hash`: a short hash of those changes
    (diff_hash). git is asked in the project's folder unless `cwd` says otherwise."""
    if cwd is None:
        cwd = project_dir()
        if _git("rev-parse", "--git-dir", cwd=cwd) is None:
            cwd = None  # an installed package outside a checkout: ask in the current directory
    commit = _git("rev-parse", "--short=10", "HEAD", cwd=cwd)
    status = _git("status", "--porcelain", "--untracked-files=all", "--", *SOURCE_PATHS, cwd=cwd)
    state = {"commit": commit or "nogit", "dirty": bool(status)}
    if status:
        state["diff_hash"] = diff_hash(cwd)
    return state


def diff_hash(cwd: Path | None = None) -> str:
    """12 hex digits of sha256 over `git diff HEAD -- SOURCE_PATHS` and the names and contents of
    the untracked source files: the same uncommitted changes give the same hash."""
    digest = hashlib.sha256((_git("diff", "HEAD", "--", *SOURCE_PATHS, cwd=cwd) or "").encode())
    untracked = (_git("ls-files", "--others", "--exclude-standard", "-z", "--", *SOURCE_PATHS, cwd=cwd) or "").split("\0")
    top = Path(cwd) if cwd is not None else Path.cwd()  # git lists them relative to where it is asked
    for name in sorted(n for n in untracked if n):
        digest.update(b"\0" + name.encode() + b"\0")
        try:
            digest.update((top / name).read_bytes())
        except OSError:
            pass  # gone since git listed it
    return digest.hexdigest()[:12]


DIRTY = "-dirty-"  # <commit>-dirty-<diff hash>: the records folder of a tree with uncommitted changes


def results_key(state: dict) -> str:
    """The records folder of a git_state (or a record's run_info): the commit, or for a dirty tree
    `<commit>-dirty-<diff hash>`. Records written before diff hashes were kept (dirty, no hash) are
    under the commit."""
    commit = state.get("commit") or "nogit"
    return f"{commit}{DIRTY}{state['diff_hash']}" if state.get("dirty") and state.get("diff_hash") else commit


def dirty_base(folder: str) -> str | None:
    """The commit of a `<commit>-dirty-<hash>` folder name, else None."""
    base, sep, _ = folder.partition(DIRTY)
    return base if sep else None


def resolve_commit(rev: str, cwd: Path | None = None) -> str:
    """The short hash results are stored under for a git revision (HEAD, a branch, a hash)."""
    commit = _git("rev-parse", "--short=10", rev, cwd=cwd)
    if commit is None:
        raise UsageError(f"rev: {rev!r} is not a git revision here, expected a commit, branch or tag")
    return commit


def device_name() -> str:
    import torch  # here, not at the top: reading records needs no torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def meta_info() -> dict:
    import torch

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "libraries": versions, "device": device_name(),
            "cuda": torch.version.cuda if torch.cuda.is_available() else None, **parallelism()}


WORKERS_ENV = "FRAUDFT_WORKERS"  # set by the launchers that run arms side by side (experiment.grid.worker_env)


def parallelism() -> dict:
    """How this process ran: `workers`, the arm processes its launcher ran side by side (pytest-xdist
    workers or grid --jobs; 0 when run on its own: pytest -n 0, run-arm by hand), and `threads`,
    torch's intra-op threads (OMP_NUM_THREADS where set). Throughput is only comparable between runs
    where both agree (fraudft.results.compare)."""
    import torch

    return {"workers": int(os.environ.get(WORKERS_ENV, "0")), "threads": torch.get_num_threads()}


def run_info(config: dict, cwd: Path | None = None) -> dict:
    return {
        **git_state(cwd),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "config": config,
    }


def write_json_atomic(obj, path: Path) -> None:
    """Write strict JSON (fraudft.core.jsonio: a non-finite float as null, its reason beside it) to a
    temp file in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(jsonio.dumps(obj, ensure_ascii=False, indent=2, default=str))  # strict: NaN as null
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the usual mode of a new file, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def record_path(root: Path, commit: str, recipe: str, arm: str, seed: int) -> Path:
    return Path(root) / commit / recipe / f"{arm}-seed{seed}.json"


class RecordExists(UsageError):
    """A successful record is where a new one would go, and the writer did not ask to replace it."""


def check_replaceable(path: Path, overwrite: bool = False) -> None:
    """Raise RecordExists (one line) when `path` holds a successful record and not `overwrite`: a
    record is replaced only on purpose. A failed, partial or unreadable file may be replaced."""
    if overwrite or not Path(path).is_file():
        return
    try:
        existing = read_record(path)
    except UsageError:
        return
    if existing.ok:
        raise RecordExists(f"{path}: a successful record of this {'tree' if existing.dirty else 'commit'} is already there "
                           f"(written {existing.run_info.get('date') or 'earlier'}); pass --overwrite (run-arm) or "
                           "--rerun (grid, pytest bench) to replace it")


def write_record(record: RunRecord, root: Path, overwrite: bool = True) -> Path:
    """Check the record and write it atomically to root/<results key>/<recipe>/<arm>-seed<N>.json
    (results_key: the commit, or `<commit>-dirty-<diff hash>`); sets record.path. Raises RecordError
    when it is not a whole record (a bug of its builder), RecordExists when a successful record is
    there and `overwrite` is False (what the runs pass unless told to replace: run_arm, the grid)."""
    record.check()
    path = record_path(root, results_key(record.run_info), record.recipe, record.arm, record.seed)
    check_replaceable(path, overwrite)
    write_json_atomic(record.to_dict(), path)
    record.path = str(path)
    return path


# --- finding a commit's records -----------------------------------------------------------------

RECORD_NAME = re.compile(r"^(?P<arm>.+)-seed(?P<seed>\d+)\.json$")


def _commit_folders(root: Path) -> list[Path]:
    root = Path(root)
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] if root.is_dir() else []


def _record_files(folder: Path) -> list[Path]:
    """<recipe>/<arm>-seed<N>.json under a commit folder. Hidden files (a writer's temp file) and other
    JSON files (bench/gpu_check.py's gpu-check/train-*.json) are not records."""
    return sorted(p for p in Path(folder).glob("*/*.json") if not p.name.startswith(".") and RECORD_NAME.match(p.name))


def available_commits(root: Path) -> list[tuple[str, int, datetime.datetime]]:
    """(commit, number of records, newest record's time) of each commit folder, newest first."""
    found = []
    for folder in _commit_folders(root):
        files = _record_files(folder)
        if files:
            newest = max(f.stat().st_mtime for f in files)
            found.append((folder.name, len(files), datetime.datetime.fromtimestamp(newest)))
    return sorted(found, key=lambda c: c[2], reverse=True)


def _no_records(root: Path, what: str) -> UsageError:
    if not Path(root).is_dir():
        return UsageError(f"results: no results dir {root}/, expected the folder `pytest bench --results-dir` wrote")
    commits = available_commits(root)
    if not commits:
        return UsageError(f"results: no records for {what}: {root}/ holds none yet, run `pytest bench` first")
    line = (_git("log", "--first-parent", "--format=%H", "HEAD", "--") or "").split()
    position = {name: i for i, full in enumerate(line) for name in [_match([c for c, _, _ in commits], full)] if name}
    commits.sort(key=lambda c: position.get(c[0], len(line)))  # git order, newest first; then the others
    def where(c: str) -> str:
        if c in position:
            return ""
        return f", uncommitted changes on {dirty_base(c)}" if dirty_base(c) else ", not on HEAD’s first-parent line"

    listed = ", ".join(f"{c} ({n} records{where(c)})" for c, n, _ in commits[:10])
    more = f" and {len(commits) - 10} more" if len(commits) > 10 else ""
    return UsageError(f"results: no records for {what} under {root}/; commits with records: {listed}{more}")


def _match(names: list[str], key: str) -> str | None:
    """The folder named key, or the only one a hash prefix of it (or it of them) points at."""
    if key in names:
        return key
    if len(key) < 7 or not re.fullmatch(r"[0-9a-fA-F]+", key):
        return None
    # a dirty tree's folder (<commit>-dirty-<hash>) is found by its whole name only, never as its commit
    hits = [n for n in names if dirty_base(n) is None and (n.startswith(key) or key.startswith(n))]
    return hits[0] if len(hits) == 1 else None


def newest_on_line(root: Path, cwd: Path | None = None) -> str | None:
    """The commit folder under root of the newest commit on HEAD's first-parent line that has
    records (git order, not file times: a fresh clone gives every file the clone's time); None when
    none has, or git can't tell."""
    names = [f.name for f in _commit_folders(root) if _record_files(f)]
    out = _git("log", "--first-parent", "--format=%H", "HEAD", "--", cwd=cwd)
    for full in (out or "").split():
        found = _match(names, full)
        if found:
            return found
    return None


def resolve_default_commit(root: Path, cwd: Path | None = None) -> tuple[str, str | None]:
    """(commit folder, note) for a results command given no REV: HEAD's records when it has some,
    else the newest commit with records on HEAD's first-parent line, with a note saying so (a new
    commit has no records until `pytest bench` runs on it). Raises what resolve_results_commit raises
    when no commit on the line has records."""
    try:
        return resolve_results_commit(root, "HEAD", cwd), None
    except UsageError:
        newest = newest_on_line(root, cwd)
        if newest is None:
            raise
        head = resolve_commit("HEAD", cwd)[:10]
        return newest, (f"HEAD ({head}) has no records under {root}/: showing {newest}, the newest commit with "
                        "records on HEAD's first-parent line (pass a REV for another)")


def resolve_results_commit(root: Path, rev: str, cwd: Path | None = None) -> str:
    """The commit folder under root for REV: a folder name as it is, else a git revision."""
    names = [p.name for p in _commit_folders(root)]
    if rev in names:
        return rev
    try:
        commit = resolve_commit(rev, cwd=cwd)
    except UsageError:
        commit = None
    found = (_match(names, commit) if commit else None) or _match(names, rev)
    if found is None:
        what = f"{rev} ({commit})" if commit else f"{rev} (neither a folder there nor a git revision here)"
        raise _no_records(root, what if commit != rev else rev)
    return found


# --- reading records ------------------------------------------------------------------------------

def read_record(path: Path) -> RunRecord:
    """One record file (schema 1 or 2), with its recipe taken from its folder and `path` set.

    Raises UsageError naming the file when it is unreadable, not JSON, or not a whole record."""
    try:
        return RunRecord.read(path)
    except RecordError as err:
        raise UsageError(str(err)) from None


def load_records(root: Path, commit: str, recipe: str | None = None) -> list[RunRecord]:
    """The records of a commit folder (one recipe's with `recipe`), sorted by recipe, arm and seed.

    Raises UsageError listing the commits that have records when this one has none, and naming
    every bad file (with why) when some file is not a whole record."""
    folder = Path(root) / commit
    files = _record_files(folder) if folder.is_dir() else []
    if not files:
        raise _no_records(root, commit)
    records, bad = [], []
    for path in files:
        try:
            records.append(read_record(path))
        except UsageError as err:
            bad.append(str(err))
    if bad:
        raise UsageError(f"results: {len(bad)} bad record file{'s' if len(bad) > 1 else ''} under {folder}/ "
                         f"(fix or remove): " + "; ".join(bad))
    if recipe is not None:
        chosen = [r for r in records if r.recipe == recipe]
        if not chosen:
            present = sorted({r.recipe for r in records})
            raise UsageError(f"--recipe: no {recipe!r} records for {commit}, expected one of {', '.join(present)}")
        records = chosen
    return sort_records(records)


# --- arms -------------------------------------------------------------------------------------------

def model_of(record: RunRecord) -> str:
    """The model a record's run used (run_info.config.backend.model), else its recipe's name."""
    return record.model_name


def sort_records(records: list[RunRecord]) -> list[RunRecord]:
    """By recipe, then arm in the order of fraudft/configs/arms.toml (unknown arms after, by name), then seed."""
    rank = arm_order()
    return sorted(records, key=lambda r: (r.recipe, rank.get(r.arm, len(rank)), r.arm, r.seed))


def group_runs(records: list[RunRecord]) -> dict[tuple[str, str], list[RunRecord]]:
    """Records keyed by (recipe, arm), in sort_records order."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in sort_records(records):
        groups.setdefault((r.recipe, r.arm), []).append(r)
    return groups
