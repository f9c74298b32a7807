"""Out-of-distribution test sets: `--extra-test NAME=PATH`, each scored by every trained arm as `extra:NAME`.

    from fraudft.experiment.extra_tests import parse_extra_tests, evaluation_name
    parse_extra_tests(["other=/data/other.jsonl"])     # (("other", "/data/other.jsonl"),)
    evaluation_name("other")                           # "extra:other"

An extra set is read whole by fraudft.data.loading.load_records (any format it reads; the format is
detected from the suffix and content unless a command's --format says otherwise) and scored as it
is: no arm transform applies to it, and no training happens again. Its evaluation is named
`extra:NAME`, a prefix the counterfactual sets (`test:NAME`) never use, so the two cannot collide.
"""

from __future__ import annotations

from pathlib import Path

from fraudft.core.errors import UsageError

from fraudft.results.record import EXTRA_NAME as _NAME
from fraudft.results.record import extra_evaluation as evaluation_name
from fraudft.results.record import extra_name

__all__ = ["evaluation_name", "extra_name", "load_extra_tests", "parse_extra_tests"]

FLAG = "--extra-test"


def parse_extra_tests(specs, flag: str = FLAG) -> tuple[tuple[str, str], ...]:
    """((NAME, PATH), ...) of NAME=PATH strings (a list, or one string of them separated by commas, as
    an environment variable gives them). Raises UsageError naming the flag: no `=`, a NAME that is
    not letters, digits, `_`, `.`, `-` (starting with a letter or digit), a NAME given twice, or a
    PATH that is neither a file nor a hub dataset split (OWNER/NAME:SPLIT)."""
    if isinstance(specs, str):
        specs = [s for s in specs.split(",") if s.strip()]
    out: dict[str, str] = {}
    for spec in specs or ():
        name, sep, path = str(spec).partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise UsageError(f"{flag}: got {spec!r}, expected NAME=PATH (e.g. other=/data/other.jsonl)")
        if not _NAME.fullmatch(name):
            raise UsageError(f"{flag}: NAME {name!r}: expected letters, digits, '_', '.' or '-' (no ':' or spaces), "
                             "starting with a letter or digit")
        if name in out:
            raise UsageError(f"{flag}: NAME {name!r} given twice (for {out[name]} and {path}), expected unique names: "
                             f"each becomes the evaluation {evaluation_name(name)!r}")
        if not Path(path).is_file() and not _is_hub_id(path):
            raise UsageError(f"{flag}: {name}={path}: no such file (nor a hub dataset split OWNER/NAME:SPLIT)")
        out[name] = path
    return tuple(out.items())


def _is_hub_id(path: str) -> bool:
    from fraudft.data.formats.base import HUB_ID  # the readers' own test: OWNER/NAME:SPLIT is read by the `hub` reader

    return HUB_ID.fullmatch(path) is not None


def load_extra_tests(extra_tests, format: str | None = None, column_map=None) -> dict[str, list[dict]]:
    """{evaluation name `extra:NAME`: its records} of parsed extra tests, each read by
    fraudft.data.loading.load_records (DataError names the file, the line and the field)."""
    from fraudft.data.loading import load_records

    return {evaluation_name(name): load_records(path, format, column_map) for name, path in extra_tests}
