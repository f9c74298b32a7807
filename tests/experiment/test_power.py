"""fraudft.experiment.power: the main job's test-set size is chosen by simulation (issue 18: power by design).

The recorded CPU grid of f48c7cfad4 (tiny model, 400 synthetic test examples, one seed) stands in
for the truth: each simulated test set is drawn from its examples, every arm's outcome on an
example going with it, and the whole gate (every expectation the records ran with) is judged by the library.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudft.experiment.power import gate_power
from fraudft.results.store import load_records

RECORDED = "f48c7cfad4"  # the grid whose effects are taken as the truth (README: the CPU grid)
RESULTS = Path(__file__).parents[2] / "results"


@pytest.fixture(scope="module")
def recorded():
    return load_records(RESULTS, RECORDED, "cpu-tiny")


def test_the_cpu_recipes_test_set_keeps_the_main_job_green(recorded):
    from fraudft.experiment.recipes import load_recipe

    n_test = load_recipe("cpu-tiny").synthetic[2]
    result = gate_power(recorded, n_test, simulations=100, n_resamples=1000, seed=1)
    assert result["p_green"] >= 0.95, result


def test_at_the_old_400_examples_the_main_job_was_a_coin_flip(recorded):
    result = gate_power(recorded, 400, simulations=100, n_resamples=1000, seed=1)
    assert result["p_green"] < 0.8, result  # why the test set grew: red by chance, not by the commit
    assert any(name.startswith("alpha_r0.5 ") for name in result["failures"])  # the weakest effect


def test_the_simulation_keeps_every_evaluation_aligned(recorded):
    import numpy as np

    from fraudft.experiment import power

    reference = next(r for r in recorded if r.arm == "reference")
    index = np.array([3, 3, 0])
    drawn = power._drawn(reference, index)
    for original, cut in zip(reference.evaluations, drawn.evaluations):
        assert cut.labels == [original.labels[i] for i in (3, 3, 0)]
        assert cut.scores == [original.scores[i] for i in (3, 3, 0)]
    assert [e.name for e in drawn.evaluations] == ["test", "test:neutralize_speakers"]


def test_an_extra_set_is_not_drawn_and_a_directional_set_keeps_its_changed_records(recorded):
    import dataclasses

    import numpy as np

    from fraudft.experiment import power
    from fraudft.results.record import Evaluation

    reference = next(r for r in recorded if r.arm == "reference")
    test = reference.test
    directional = Evaluation("test:append_transfer_request", test.labels, test.predictions, scores=test.scores,
                             metrics={"unchanged_lines": [1, 4]})
    other = Evaluation("extra:other", [0, 1, 1], [0, 1, 0])  # other examples: never drawn with the test split's
    record = dataclasses.replace(reference, evaluations=[*reference.evaluations, directional, other])
    drawn = power._drawn(record, np.array([3, 3, 0, 1]))
    assert [e.name for e in drawn.evaluations] == ["test", "test:neutralize_speakers", "test:append_transfer_request"]
    assert drawn.evaluation("test:append_transfer_request").metrics["unchanged_lines"] == [1, 2, 3]  # lines 4, 4, 1
    assert gate_power([*[r for r in recorded if r is not reference], record], 200, simulations=2, n_resamples=100)
