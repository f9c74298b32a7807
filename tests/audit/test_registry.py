"""fraudft.audit.registry is the single source of truth: every registered check has a title and a
renderer, runs in `audit()` and gets its report section in registry order; a newly registered
check appears in both without any other change; bad registrations are refused."""

from __future__ import annotations

import pytest

from fraudft.audit import audit, registry
from fraudft.audit.features import prepare_split
from fraudft.audit.registry import SCOPES, check, registered
from fraudft.audit.report import Finding
from fraudft.synthetic import SynthConfig, generate


@pytest.fixture(scope="module")
def two_splits():
    return {"train": generate(SynthConfig(n=80, seed=0)), "test": generate(SynthConfig(n=60, seed=1))}


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry that the test may extend; the real one is restored afterwards."""
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    return registry.REGISTRY


def test_every_registered_check_is_complete():
    specs = registered()
    assert [s.name for s in specs] == ["balance", "consistency", "length", "turns", "speaker_tags", "instruction",
                                      "ngrams", "probe", "duplicates", "leakage",
                                      "label_conflicts"]
    for spec in specs:
        assert spec.title and callable(spec.function) and callable(spec.render) and spec.scope in SCOPES
    assert len({s.title for s in specs}) == len(specs)
    assert [s.name for s in registered("splits")] == ["leakage", "label_conflicts"]


def test_a_two_split_audit_follows_the_registry(two_splits):
    report = audit(two_splits)
    names = [s.name for s in registered()]
    assert [f.check for f in report.findings] == [
        s.name for s in registered() for _ in (two_splits if s.scope == "split" else [None])
    ]
    for spec in registered("split"):
        assert [f.split for f in report.select(spec.name)] == ["train", "test"]
    text = report.to_text()
    sections = [line[3:-3] for line in text.splitlines() if line.startswith("== ")]
    assert sections == [s.title for s in registered()]
    for spec in registered():  # each section shows its findings rendered by the check's own renderer
        for finding in report.select(spec.name):
            assert all("    " + line in text for line in spec.render(finding.figures))
    assert {f["check"] for f in report.to_dict()["findings"]} == set(names)


def test_a_split_check_returns_a_finding_of_its_own_name(two_splits):
    from fraudft.audit import AuditConfig

    split = prepare_split("train", two_splits["train"], tokenizer=None)
    for spec in registered("split"):
        finding = spec.function(split, AuditConfig())
        assert isinstance(finding, Finding) and finding.check == spec.name and finding.split == "train"


def test_a_new_check_needs_only_its_registration(scratch_registry, two_splits):
    @check("extra", title="An extra check", render=lambda figures: [f"seen {figures['n']} records"] if figures else [],
           needs_both_classes=True)
    def extra(split, config):
        return Finding("extra", split.name, "warn", "looked", {"n": len(split.records)})

    one_class = [r for r in two_splits["test"] if r["label"]]
    report = audit({"train": two_splits["train"], "fraud": one_class})
    assert [f.check for f in report.findings][-2:] == ["extra", "extra"]
    assert report.select("extra", "fraud")[0].verdict == "skipped: the split does not have both classes"
    text = report.to_text()
    assert text.endswith("== An extra check ==\n[WARN] train: looked\n    seen 80 records\n"
                         "[INFO] fraud: skipped: the split does not have both classes\n")


def test_bad_registrations_are_refused(scratch_registry):
    before = dict(scratch_registry)
    with pytest.raises(ValueError, match="'balance' is already registered"):
        check("balance", title="Again")(lambda split, config: None)
    with pytest.raises(ValueError, match="scope: got 'pair'"):
        check("x", title="X", scope="pair")
    with pytest.raises(ValueError, match="needs_both_classes"):
        check("x", title="X", scope="splits", needs_both_classes=True)
    with pytest.raises(ValueError, match="non-empty"):
        check("x", title="")
    assert scratch_registry == before
