"""The metrics layer: the metric registry (registry.py), the answer metrics of generate mode
(answers.py), the stratified paired bootstrap and tests (stats.py), flip rates (flips.py) and the
operating point (operating.py). Imports fraudft.core only."""
