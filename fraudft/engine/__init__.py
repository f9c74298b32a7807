"""The engine layer: training (train.py, with checkpoint resume in resume.py), evaluation
(evaluate.py, replies.py for generate mode) and the measurements both take (measure.py)."""
