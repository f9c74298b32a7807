"""fraudft.results.plot and `fraudft results plot`: PNG charts of a commit's records."""

from __future__ import annotations

from fraudft.results import plot
from fraudft.results.store import load_records

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


PLOTS = ["precision_recall.png", "pr_curves.png", "reliability.png", "loss_curves.png"]


def test_plot_writes_the_pngs(capsys, fake, one_commit):
    fake.record(one_commit, "c1", "reference", backend="gpu")
    out_dir = one_commit / "plots"
    rc, out, err = fake.run(capsys, "results", "plot", "c1", "--results-dir", one_commit, "--out", out_dir)
    assert rc == 0, err
    paths = out.split()
    assert [p.rsplit("/", 1)[-1] for p in paths] == PLOTS
    for name in PLOTS:
        data = (out_dir / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1024


def test_pr_curves_draw_every_arm_with_scores_and_its_average_precision(fake, tmp_path):
    from sklearn.metrics import average_precision_score

    reference = fake.record(tmp_path, "c1", "reference")
    fake.record(tmp_path, "c1", "alpha_r4", fn=30, fp=5)
    fake.record(tmp_path, "c1", "rslora", scores=False)  # no scores: not drawn
    records = load_records(tmp_path, "c1")
    path = plot.plot_pr_curves(records, "c1", tmp_path / "pr.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    figure, panels = plot._score_panels(records, "t")
    assert [arm for arm, _ in panels[0][1][1]] == ["reference", "alpha_r4"]
    ap = average_precision_score(reference.test.labels, reference.test.scores)
    plot.plot_pr_curves(records, "c1", tmp_path / "pr.png")
    assert ap > 0.5
    assert plot.plot_reliability(records, "c1", tmp_path / "rel.png").read_bytes().startswith(PNG_SIGNATURE)


def test_plot_without_training_logs_still_writes_both(capsys, fake, tmp_path):
    fake.record(tmp_path, "c1", "untuned", fn=100, fp=0)
    rc, _, _ = fake.run(capsys, "results", "plot", "c1", "--results-dir", tmp_path, "--out", tmp_path / "p")
    assert rc == 0 and (tmp_path / "p" / "loss_curves.png").read_bytes().startswith(PNG_SIGNATURE)


def test_an_undefined_precision_is_marked_not_drawn_as_zero(fake, tmp_path):
    fake.record(tmp_path, "c1", "untuned", fn=100, fp=0)  # no positive prediction
    fake.record(tmp_path, "c1", "reference")
    figure = plot.precision_recall_figure(load_records(tmp_path, "c1"), "c1", n_resamples=50)
    ax = figure.axes[0]
    assert "undefined: no positive prediction" in [t.get_text() for t in ax.texts]
    heights = [round(bar.get_height(), 3) for bar in ax.patches]
    assert len(heights) == 3 and heights[1] == 0.0  # untuned: recall 0 drawn; its precision: no bar at all
