"""The CLI's shape: light to start (no torch/transformers/peft at import; its start-up time is a
benchmark, bench/test_cli_startup.py), and only user errors exit 2 while bugs keep their traceback
(issue 8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fraudft import cli
from fraudft.core.errors import DataError, UsageError

HEAVY = ("torch", "transformers", "peft", "datasets")


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
