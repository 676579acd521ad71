"""What one epoch of training accumulates (losses, train predictions, task steps, gradient cosines) and the metrics
it gives at the epoch's end."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import torch

from mtbert.eval import predict as P
from mtbert.model.multitask import TASK_SPECS


def to_device(obj, device: torch.device | str):
    """`obj` with every tensor in its dicts, lists and tuples moved to `device`."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)({k: to_device(v, device) for k, v in obj.items()}) if not isinstance(obj, defaultdict) \
            else defaultdict(obj.default_factory, {k: to_device(v, device) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


class EpochLog:
    """Per-epoch accumulators: losses, train predictions, task step counts, gradient cosines."""

    def __init__(self) -> None:
        # device tensors, read once in metrics(): no host synchronisation per step
        self.losses: dict[str, list[torch.Tensor]] = defaultdict(list)
        self.outputs: dict[str, list[torch.Tensor]] = defaultdict(list)
        self.golds: dict[str, list[np.ndarray]] = defaultdict(list)
        self.task_steps: Counter = Counter()
        self.cosines: dict[str, list[torch.Tensor]] = defaultdict(list)
        self.aux: dict[str, list[torch.Tensor]] = defaultdict(list)  # regularizer values, unweighted
        self.steps = 0
        self.skipped = 0  # steps left out for a non-finite loss (train.nonfinite=skip)
        self.seconds = 0.0

    def state(self) -> dict:
        return {k: dict(v) if isinstance(v, dict) else v for k, v in vars(self).items()}

    @classmethod
    def from_state(cls, state: dict, device: torch.device | str | None = None) -> "EpochLog":
        """The log a state holds, its tensors moved to `device` (a state saved on one device resumes on another, and
        the steps after a resume append tensors of the run's own device)."""
        log = cls()
        if device is not None:
            state = to_device(state, device)
        for key, value in state.items():
            current = getattr(log, key)
            if isinstance(current, Counter):
                value = Counter(value)
            elif isinstance(current, defaultdict):
                value = defaultdict(list, value)
            setattr(log, key, value)
        return log

    def metrics(self, tasks: list[str]) -> dict[str, float]:
        def values(tensors: list[torch.Tensor]) -> np.ndarray:
            return torch.stack(tensors).float().cpu().numpy().astype(np.float64)

        out = {f"train/{t}_loss": float(np.mean(values(self.losses[t]))) for t in tasks if self.losses[t]}
        out.update({f"train/{name}": float(np.mean(values(v))) for name, v in self.aux.items()})
        relative: dict[str, list[torch.Tensor]] = defaultdict(list)  # "<task>_<regularizer>_relative" per step
        for name, v in self.aux.items():
            if name.endswith("_relative"):
                relative[name.split("_")[1]] += v
        out.update({f"{reg}/relative_size": float(np.mean(values(v))) for reg, v in relative.items()})
        scores = {t: P.score(t, TASK_SPECS[t].predict(torch.cat(self.outputs[t]).float().cpu().numpy()),
                             np.concatenate(self.golds[t])) for t in tasks if self.outputs[t]}
        out.update({f"train/{k}": v for k, v in P.summary(scores).items()})
        out.update({f"steps/{t}_fraction": self.task_steps[t] / max(1, self.steps) for t in tasks})
        for pair, v in self.cosines.items():
            out[f"grad/cos_{pair}"] = float(np.mean(values(v)))
            out[f"grad/conflict_{pair}"] = float(np.mean(values(v) < 0))
        out["time/seconds_per_step"] = self.seconds / max(1, self.steps)
        out["train/skipped_steps"] = float(self.skipped)
        return out
