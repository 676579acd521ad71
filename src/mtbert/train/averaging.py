"""Weight averaging over the last steps of a run (`train.weight_averaging`): the mean of the weights after each step
from `start` on (SWA, Izmailov et al.) or their exponential moving average (EMA), kept beside the trained model by
torch's AveragedModel. Dev scoring and the saved checkpoint use the average once it holds a step."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from mtbert.config.train import AveragingConfig


class WeightAverager:
    """The average of `model`'s weights over the steps past `cfg.start` of `total_steps` (none when kind is none)."""

    def __init__(self, model: nn.Module, cfg: AveragingConfig, total_steps: int):
        self.cfg = cfg
        self.first = int(cfg.start * total_steps) + 1  # the first step (counted from 1) whose weights are taken
        self.averaged = None
        if cfg.kind != "none":
            fn = get_ema_multi_avg_fn(cfg.decay) if cfg.kind == "ema" else None
            self.averaged = AveragedModel(model, multi_avg_fn=fn, use_buffers=False)

    def update(self, model: nn.Module, step: int) -> None:
        """After optimizer step `step` (counted from 1 over the whole run)."""
        if self.averaged is not None and step >= self.first:
            self.averaged.update_parameters(model)

    @property
    def steps(self) -> int:
        return 0 if self.averaged is None else int(self.averaged.n_averaged.item())

    def model_to_score(self, model: nn.Module) -> nn.Module:
        """The averaged model once it holds a step, else `model` itself."""
        return self.averaged.module if self.steps else model

    def state(self) -> dict:
        return {} if self.averaged is None else {k: v for k, v in self.averaged.state_dict().items()}

    def load_state(self, state: dict) -> None:
        if self.averaged is not None:
            self.averaged.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
