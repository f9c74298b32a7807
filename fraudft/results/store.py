"""The record store: one JSON file per arm and run, grouped by the commit and recipe that produced them.

    results/<commit>/<recipe>/<arm>-seed<N>.json

    from fraudft.results.store import load_records, resolve_results_commit
    records = load_records("results", resolve_results_commit("results", "HEAD"))

Each record holds `run_info` (commit, dirty flag, date, command, config), `train_info` (steps,
train and eval time apart, tokens/s, samples/s, peak memory, status `success` or `failed` with the
error), `metrics` (with the dialogues cut to fit max_length), in generate mode `replies` (each
reply and its parse status) and `meta_info` (library versions, device), in the spirit of peft's
method_comparison. A record carries `schema` (SCHEMA_VERSION); loading checks it and the fields
a result needs, and names every file that is not a whole record (never reads it as a result).
A record's runs are keyed by its recipe folder and arm: runs of different recipes are never one arm.
"""

from __future__ import annotations

import datetime
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
from fraudft.errors import UsageError

SCHEMA_VERSION = 1  # written by fraudft.experiment.runner, checked by load_records
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
    """The commit the code runs from (short hash, or "nogit") and whether its source has uncommitted
    or untracked changes. git is asked in the project's folder unless `cwd` says otherwise."""
    if cwd is None:
        cwd = project_dir()
        if _git("rev-parse", "--git-dir", cwd=cwd) is None:
            cwd = None  # an installed package outside a checkout: ask in the current directory
    commit = _git("rev-parse", "--short=10", "HEAD", cwd=cwd)
    status = _git("status", "--porcelain", "--untracked-files=all", "--", *SOURCE_PATHS, cwd=cwd)
    return {"commit": commit or "nogit", "dirty": bool(status)}


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
            "cuda": torch.version.cuda if torch.cuda.is_available() else None}


def run_info(config: dict, cwd: Path | None = None) -> dict:
    return {
        **git_state(cwd),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "config": config,
    }


def write_json_atomic(obj, path: Path) -> None:
    """Write JSON to a temp file in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2, default=str)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the usual mode of a new file, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def record_path(root: Path, commit: str, recipe: str, arm: str, seed: int) -> Path:
    return Path(root) / commit / recipe / f"{arm}-seed{seed}.json"


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
    listed = ", ".join(f"{c} ({n} records, {t:%Y-%m-%d %H:%M})" for c, n, t in commits[:10])
    more = f" and {len(commits) - 10} more" if len(commits) > 10 else ""
    return UsageError(f"results: no records for {what} under {root}/; commits with records: {listed}{more}")


def _match(names: list[str], key: str) -> str | None:
    """The folder named key, or the only one a hash prefix of it (or it of them) points at."""
    if key in names:
        return key
    if len(key) < 7 or not re.fullmatch(r"[0-9a-fA-F]+", key):
        return None
    hits = [n for n in names if n.startswith(key) or key.startswith(n)]
    return hits[0] if len(hits) == 1 else None


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

def _is_01(values) -> bool:
    return isinstance(values, list) and all(v in (0, 1) for v in values)  # True/False count as 1/0


def record_problem(record) -> str | None:
    """Why a parsed record file is not a whole record (None when it is one)."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if record.get("schema") != SCHEMA_VERSION:
        return f"schema: got {record.get('schema')!r}, expected {SCHEMA_VERSION}"
    info = record.get("train_info")
    status = info.get("status") if isinstance(info, dict) else None
    if status not in ("success", "failed"):
        return f"train_info.status: got {status!r}, expected success or failed"
    if status == "failed":
        return None
    if not isinstance(record.get("metrics"), dict):
        return "metrics: missing from a successful run"
    predictions, labels = record.get("predictions"), record.get("labels")
    if not _is_01(predictions) or not predictions:
        return "predictions: expected a non-empty list of 0/1"
    if labels is not None and (not _is_01(labels) or len(labels) != len(predictions)):
        return f"labels: expected {len(predictions)} values of 0/1 (one per prediction)"
    replies = record.get("replies")  # generate mode only
    if replies is not None and not (
        isinstance(replies, list) and len(replies) == len(predictions)
        and all(isinstance(r, dict) and isinstance(r.get("reply"), str) and isinstance(r.get("status"), str)
                for r in replies)
    ):
        return f'replies: expected {len(predictions)} objects {{"reply": str, "status": str}} (one per prediction)'
    return None


def read_record(path: Path) -> dict:
    """One record file, with `recipe` (its folder), `arm`, `seed` and `path` filled in from where it is.

    Raises UsageError naming the file when it is unreadable, not JSON, or not a whole record."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: not a readable JSON record ({err})") from None
    problem = record_problem(record)
    if problem:
        raise UsageError(f"{path}: not a whole record: {problem}")
    name = RECORD_NAME.match(path.name)
    record["recipe"] = path.parent.name
    record.setdefault("backend", path.parent.name)
    record.setdefault("arm", name["arm"] if name else path.stem)
    record.setdefault("seed", int(name["seed"]) if name else 0)
    record["path"] = str(path)
    return record


def load_records(root: Path, commit: str, recipe: str | None = None) -> list[dict]:
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
        chosen = [r for r in records if r["recipe"] == recipe]
        if not chosen:
            present = sorted({r["recipe"] for r in records})
            raise UsageError(f"--backend: no {recipe!r} records for {commit}, expected one of {', '.join(present)}")
        records = chosen
    return sort_records(records)


# --- arms -------------------------------------------------------------------------------------------

def recipe_of(record: dict) -> str:
    """The recipe a record belongs to: its folder when read from disk, else its `backend` field."""
    if record.get("recipe"):
        return record["recipe"]
    if record.get("path"):
        return Path(record["path"]).parent.name
    return str(record.get("backend"))


def model_of(record: dict) -> str:
    """The model a record's run used (run_info.config.backend.model), else its recipe's name."""
    backend = (((record.get("run_info") or {}).get("config") or {}).get("backend") or {})
    return str(backend.get("model") or recipe_of(record)) if isinstance(backend, dict) else recipe_of(record)


def sort_records(records: list[dict]) -> list[dict]:
    """By recipe, then arm in the order of fraudft/configs/arms.toml (unknown arms after, by name), then seed."""
    rank = arm_order()

    def key(r):
        return (recipe_of(r), rank.get(r.get("arm"), len(rank)), str(r.get("arm")), int(r.get("seed") or 0))

    return sorted(records, key=key)


def group_runs(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """Records keyed by (recipe, arm), in sort_records order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in sort_records(records):
        groups.setdefault((recipe_of(r), r["arm"]), []).append(r)
    return groups
