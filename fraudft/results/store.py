"""Results records: one JSON file per arm and run, grouped by the commit that produced them.

    results/<commit>/<backend>/<arm>-seed<N>.json

Each record holds `run_info` (commit, dirty flag, date, command, config), `train_info` (steps,
train and eval time apart, tokens/s, samples/s, peak memory, status `success` or `failed` with the
error), `metrics` and `meta_info` (library versions, device), in the spirit of peft's
method_comparison.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from fraudft.errors import UsageError

SCHEMA_VERSION = 1
LIBRARIES = ("torch", "transformers", "peft", "accelerate", "tokenizers", "scikit-learn", "pandas")


def _git(*args: str, cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def git_state(cwd: Path | None = None) -> dict:
    """The current commit (short hash, or "nogit") and whether the work tree has changes."""
    commit = _git("rev-parse", "--short=10", "HEAD", cwd=cwd)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
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
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
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
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def record_path(root: Path, commit: str, backend: str, arm: str, seed: int) -> Path:
    return Path(root) / commit / backend / f"{arm}-seed{seed}.json"


def load_records(root: Path, commit: str) -> list[dict]:
    """All records stored for a commit (every backend), sorted by backend, arm and seed."""
    folder = Path(root) / commit
    if not folder.is_dir():
        raise UsageError(f"results: no records for commit {commit} under {root}, expected {folder}/")
    records = []
    for path in sorted(folder.glob("*/*.json")):
        with open(path, encoding="utf-8") as f:
            records.append(json.load(f))
    return records
