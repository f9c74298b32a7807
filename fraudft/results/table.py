"""Tables of results records (being split out of report.py)."""

from fraudft.results.report import markdown_table  # noqa: F401
