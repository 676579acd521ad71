"""Use a trained checkpoint: `Predictor` in Python, `mtbert predict` on the command line."""

from mtbert.predict.predictor import NotACheckpoint, Predictor

__all__ = ["NotACheckpoint", "Predictor"]
