"""fraudft.experiment.baselines: the untrained answers a learning model must beat."""

from fraudft.experiment.baselines import always_fraud, surface_probe
from fraudft.synthetic import SynthConfig, generate


def _accuracy(records, predictions):
    return sum(int(r["label"]) == p for r, p in zip(records, predictions)) / len(records)


def test_always_fraud_answers_fraud_to_everything():
    test = generate(SynthConfig(n=20, seed=3))
    assert always_fraud([], test) == [1] * 20


def test_the_surface_probe_finds_a_planted_surface_shortcut_and_not_the_content():
    test_clean = generate(SynthConfig(n=300, seed=3))
    leaky_train = generate(SynthConfig(n=300, seed=1, shortcut="speaker_tag"))
    leaky_test = generate(SynthConfig(n=300, seed=3, shortcut="speaker_tag"))
    assert _accuracy(leaky_test, surface_probe(leaky_train, leaky_test)) > 0.9
    clean_train = generate(SynthConfig(n=300, seed=1))
    assert _accuracy(test_clean, surface_probe(clean_train, test_clean)) < 0.7
