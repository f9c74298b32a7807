"""README.md stays a ten-minute read whose commands run as written.

- It is at most 300 lines.
- Every `fraudft ...` command in its code blocks parses with the CLI's own argparse parser (no
  handler runs), every long option of its `pytest ...` commands is one pytest knows for `bench`,
  and every script it runs with `bash` exists.
- Every relative link of README.md and of the folder READMEs it points to exists, and it links the
  three folder READMEs where the rest of the documentation lives.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fraudft.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FOLDER_READMES = ("fraudft/README.md", "bench/README.md", "results/README.md")
MAX_LINES = 300
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
OPERATORS = {"&&", "||", "|", ";", "&", ">", ">>", "<", "<<"}


def shell_lines(markdown: str) -> list[str]:
    """The command lines of the bash (or untyped) code blocks: continuations joined, heredoc bodies left out."""
    lines = []
    for lang, body in FENCE.findall(markdown):
        if lang not in ("", "bash", "sh", "shell"):
            continue
        pending, heredoc_end = "", None
        for line in body.splitlines():
            if heredoc_end is not None:
                heredoc_end = None if line.strip() == heredoc_end else heredoc_end
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            line = pending + line
            pending = ""
            found = HEREDOC.search(line)
            if found:
                heredoc_end = found.group(1)
                line = line[:found.start()]
            if line.strip():
                lines.append(line)
    return lines


def commands(markdown: str) -> list[list[str]]:
    """Each simple command (split at &&, |, ; ...) of the code blocks as argv lists, comments dropped."""
    out = []
    for line in shell_lines(markdown):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        argv: list[str] = []
        for token in lexer:
            if token in OPERATORS:
                if argv:
                    out.append(argv)
                argv = []
            else:
                argv.append(token)
        if argv:
            out.append(argv)
    return out


def readme_commands(program: str) -> list[list[str]]:
    return [argv for argv in commands(README.read_text(encoding="utf-8")) if argv[0] == program]


def test_readme_is_a_ten_minute_read():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines, at most {MAX_LINES}: move detail to a folder README"


def test_shell_parsing_of_the_readme_helpers():
    # The helpers themselves: continuations, heredocs, comments and operators.
    text = ("```bash\nfraudft grid --jobs 2 \\\n  --rerun   # a comment\npython - <<'EOF'\nfraudft not-a-command\nEOF\n"
            "a && fraudft data stats x.jsonl | head -1\n```\n```text\nfraudft ignored\n```\n")
    assert commands(text) == [["fraudft", "grid", "--jobs", "2", "--rerun"], ["python", "-"], ["a"],
                              ["fraudft", "data", "stats", "x.jsonl"], ["head", "-1"]]


def test_readme_shows_the_main_commands():
    assert readme_commands("fraudft"), "README.md shows no fraudft command"
    assert any(argv[1:2] == ["bench"] for argv in readme_commands("pytest")), "README.md lacks `pytest bench`"
    assert any(argv[1:2] == ["tests"] for argv in readme_commands("pytest")), "README.md lacks `pytest tests`"


@pytest.mark.parametrize("argv", readme_commands("fraudft"), ids=lambda argv: " ".join(argv[1:4]))
def test_fraudft_command_parses(argv):
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = build_parser().parse_args(argv[1:])
    except SystemExit as exit:
        pytest.fail(f"README.md: `{shlex.join(argv)}` does not parse (exit {exit.code}): {stderr.getvalue().strip()}")
    assert callable(args.func), f"`{shlex.join(argv)}` parses to no command handler"


def test_pytest_options_exist():
    used = sorted({token.split("=")[0] for argv in readme_commands("pytest") for token in argv[1:]
                   if token.startswith("--")})
    assert used, "README.md's pytest commands use no long option"
    shown = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "bench", "--help"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    known = set(re.findall(r"(--[\w-]+)", shown.stdout))
    assert not set(used) - known, f"README.md's pytest commands use options pytest bench does not know: {sorted(set(used) - known)}"


def test_bash_scripts_exist():
    scripts = [argv[1] for argv in readme_commands("bash")]
    assert scripts, "README.md runs no bash script (.ci/run, bench/gpu_check.sh)"
    missing = [s for s in scripts if not (ROOT / s).is_file()]
    assert not missing, f"README.md runs scripts that do not exist: {missing}"


def test_readme_links_the_folder_readmes():
    links = set(LINK.findall(README.read_text(encoding="utf-8")))
    assert not set(FOLDER_READMES) - links, f"README.md does not link {sorted(set(FOLDER_READMES) - links)}"


@pytest.mark.parametrize("doc", ("README.md",) + FOLDER_READMES)
def test_relative_links_exist(doc):
    path = ROOT / doc
    assert path.is_file(), f"{doc} is missing"
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL, or an anchor of the page itself
        if not (path.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{doc}: links to paths that do not exist: {broken}"
