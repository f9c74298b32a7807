"""The errors a user can fix, as opposed to bugs: the CLI prints these as one line and exits 2.

    raise DataError("train.jsonl", 12, "label", "got str \"true\", expected a JSON bool")
    raise UsageError("--keep: got 'dev', expected one of the splits (train, test)")

Anything else that escapes a command is a bug and shows its traceback.
"""

from __future__ import annotations

from pathlib import Path


class UsageError(ValueError):
    """A bad argument, option or file choice; the message says what was expected."""


class DataError(UsageError):
    """Bad input data; the message reads `FILE:LINE: field: what was wrong, what was expected`.

    `line` is a line number (`FILE:12: ...`), a place such as "row 3" or "item 2" (`FILE: row 3: ...`),
    or None for the whole file (`FILE: ...`)."""

    def __init__(self, path: str | Path, line: int | str | None, field: str, message: str):
        where = f"{path}" if line is None else f"{path}:{line}" if isinstance(line, int) else f"{path}: {line}"
        super().__init__(f"{where}: {field}: {message}")
        self.path, self.line, self.field = str(path), line, field


class DataWarning(UserWarning):
    """Suspicious but loadable data, e.g. empty dialogues."""
