"""The CLI's shape: light to start (no torch/transformers/peft at import), and only user errors
exit 2 while bugs keep their traceback (issue 8)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from fraudft import cli
from fraudft.errors import DataError, UsageError

HEAVY = ("torch", "transformers", "peft", "datasets")


def wall_seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def test_data_validate_starts_about_as_fast_as_python_itself(write_jsonl_lines, make_record):
    # A ratio against a bare interpreter measured in the same test, minima of a few runs: what
    # is compared is the CLI's own start-up cost, not the speed of this (shared) machine.
    path = write_jsonl_lines([make_record(), make_record(label=True)])
    bare = min(wall_seconds([sys.executable, "-c", "pass"]) for _ in range(5))
    validate = min(wall_seconds([sys.executable, "-m", "fraudft.cli", "data", "validate", str(path)]) for _ in range(5))
    assert validate / bare < 6, f"fraudft data validate {validate:.3f} s vs python -c pass {bare:.3f} s"


def test_importing_the_cli_imports_no_heavy_library():
    code = f"import sys, fraudft.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    proc = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert proc.stdout == "[]\n"


@pytest.fixture
def failing_validate(monkeypatch):
    """Make `fraudft data validate` raise the exception given to the returned setter."""
    import fraudft.cli.data

    def fail_with(exc: BaseException):
        def handler(args):
            raise exc

        monkeypatch.setattr(fraudft.cli.data, "cmd_validate", handler)

    return fail_with


def test_a_bug_in_a_command_propagates_instead_of_exiting_2(failing_validate):
    failing_validate(RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["data", "validate", "x.jsonl"])


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (UsageError("--keep: got 'dev', expected one of the splits"), "error: --keep: got 'dev', expected one of the splits\n"),
        (DataError("f.jsonl", 3, "label", "got str, expected a JSON bool"), "error: f.jsonl:3: label: got str, expected a JSON bool\n"),
    ],
)
def test_usage_and_data_errors_exit_2_with_one_line(capsys, failing_validate, exc, line):
    failing_validate(exc)
    assert cli.main(["data", "validate", "x.jsonl"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", line)


def test_a_bug_shows_its_traceback_in_a_real_process():
    code = (
        "import sys, fraudft.cli.data as data, fraudft.cli as cli\n"
        "def handler(args): raise RuntimeError('a bug')\n"
        "data.cmd_validate = handler\n"
        "sys.exit(cli.main(['data', 'validate', 'x.jsonl']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert proc.stderr.rstrip().endswith("RuntimeError: a bug")
    assert "error:" not in proc.stderr


def test_the_cli_offers_the_audit_s_own_fail_on_levels():
    from fraudft.audit import FAIL_ON
    from fraudft.cli import audit as audit_cli

    assert audit_cli.FAIL_ON == FAIL_ON
