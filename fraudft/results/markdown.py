"""Markdown tables, the text form every results view prints.

Written by hand rather than with pandas' `to_markdown`: that needs the `tabulate` package for a
dozen lines, and cells here must escape `|` and newlines exactly this way.
"""

from __future__ import annotations


def cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(columns: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
