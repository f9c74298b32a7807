"""bench/conftest.py writes the HTML report of the commit a `pytest bench` session ran, next to its
records, from the summaries, verdicts and robustness rows its terminal summary computed."""

from __future__ import annotations

from bench.conftest import _write_report
from fraudft.results.expectations import Verdict
from fraudft.results.store import load_records
from fraudft.results.table import summarize_arms
from tests.results.conftest import install_history_standin, make_record


def test_the_bench_writes_the_report_next_to_the_records_reusing_its_summaries(tmp_path, monkeypatch):
    install_history_standin(monkeypatch)  # the history is another module's test: its stand-in here
    make_record(tmp_path, "c1", "untuned", fn=100, fp=0)
    make_record(tmp_path, "c1", "reference")
    records = load_records(tmp_path, "c1")
    summaries = summarize_arms(records, n_resamples=200)
    summaries[1]["metrics"]["mcc"]["mean"] = 0.123456  # a mark: the page shows these summaries, not new ones
    verdict = Verdict(arm="reference", expectation="beats:untuned:mcc", kind="beats", metric="mcc", status="pass",
                      delta=0.5, low=0.4, high=0.6, other="untuned", p_value=0.001, p_adjusted=0.001, seeds=1)
    path = _write_report(records, "c1", summaries, {"cpu-tiny": [verdict]}, [])
    assert path == tmp_path / "c1" / "report.html"
    page = path.read_text(encoding="utf-8")
    assert "0.123 ±" in page or "0.123 [" in page
    assert "beats:untuned:mcc" in page and "+0.500 [+0.400, +0.600] vs untuned" in page


def test_a_partial_runs_report_covers_every_record_of_the_commit(tmp_path, monkeypatch):
    """`pytest bench --arms reference` must not replace the commit's report with one of its own arm only."""
    install_history_standin(monkeypatch)
    make_record(tmp_path, "c1", "untuned", fn=100, fp=0)
    make_record(tmp_path, "c1", "always_fraud")
    make_record(tmp_path, "c1", "reference")
    session = [r for r in load_records(tmp_path, "c1") if r.arm == "reference"]  # what this session ran
    path = _write_report(session, "c1", summarize_arms(session, n_resamples=200), {}, [])
    assert path == tmp_path / "c1" / "report.html"
    page = path.read_text(encoding="utf-8")
    assert "3 records" in page
    assert "always_fraud" in page and "untuned" in page
