"""fraudft.experiment.baselines: the untrained answers a learning model must beat."""

from fraudft.experiment.baselines import always_fraud, surface_probe
from fraudft.synthetic import SynthConfig, generate


def _accuracy(records, scores):
    return sum(int(r["label"]) == (s >= 0.5) for r, s in zip(records, scores)) / len(records)


def test_always_fraud_answers_fraud_to_everything():
    test = generate(SynthConfig(n=20, seed=3))
    assert always_fraud([], test) == [1.0] * 20


def test_the_surface_probe_gives_probabilities():
    train, test = generate(SynthConfig(n=100, seed=1)), generate(SynthConfig(n=40, seed=3))
    scores = surface_probe(train, test)
    assert len(scores) == 40 and all(0 <= s <= 1 for s in scores) and len(set(scores)) > 2


def test_the_surface_probe_finds_a_planted_surface_shortcut_and_not_the_content():
    test_clean = generate(SynthConfig(n=300, seed=3))
    leaky_train = generate(SynthConfig(n=300, seed=1, shortcut="speaker_tag"))
    leaky_test = generate(SynthConfig(n=300, seed=3, shortcut="speaker_tag"))
    assert _accuracy(leaky_test, surface_probe(leaky_train, leaky_test)) > 0.9
    clean_train = generate(SynthConfig(n=300, seed=1))
    assert _accuracy(test_clean, surface_probe(clean_train, test_clean)) < 0.7
