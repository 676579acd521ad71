"""The fine-tuning loop's resumable state: where training stands (`Progress`) and saving or restoring it with the
weights, optimizers, gradient method, batch streams and generators (see train/state.py for the format)."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mtbert.data.batching import BatchStream
from mtbert.model.multitask import MultitaskModel
from mtbert.train.averaging import WeightAverager
from mtbert.train.epoch_log import EpochLog, to_device
from mtbert.train.methods.combine import GradientMethod
from mtbert.train.optim import OptimizerSet
from mtbert.train.state import StateStore, rng_state, set_rng_state


@dataclass
class Progress:
    """Where training stands between two steps, besides the weights, optimizers, streams and generators: what a
    resumable state holds so a rerun carries on exactly."""

    epoch: int = 1
    step: int = 0  # steps of `epoch` already taken
    multi_step: int = 0  # several-task steps so far (the gradient diagnostics' clock)
    best: float = -float("inf")
    best_metrics: dict = field(default_factory=dict)
    history: list = field(default_factory=list)  # dev metrics per epoch
    logged: list = field(default_factory=list)  # every finished epoch's DVCLive metrics, replayed on resume
    last_finite: dict = field(default_factory=dict)  # the guard's last finite losses


def save_state(store: StateStore, progress: Progress, log: EpochLog, model: MultitaskModel, optim: OptimizerSet,
               method: GradientMethod, streams: dict[str, BatchStream], out_dir: Path | None,
               rng: list[dict] | None = None, averager: WeightAverager | None = None) -> None:
    """`rng`: every rank's generators in rank order (this process's alone when None)."""
    store.save({"progress": dataclasses.asdict(progress), "log": log.state(), "model": model.state_dict(),
                "optim": optim.state_dict(), "method": method.state(), "streams": {t: s.state() for t, s in streams.items()},
                "rng": rng if rng is not None else [rng_state()],
                "averaged": averager.state() if averager is not None else {}},
               files={"best": out_dir} if out_dir is not None and out_dir.exists() else None)


def restore_state(saved: dict, store: StateStore, model: MultitaskModel, optim: OptimizerSet, method: GradientMethod,
                  streams: dict[str, BatchStream], live, out_dir: Path | None, rank: int = 0,
                  averager: WeightAverager | None = None, device: torch.device | None = None
                  ) -> tuple[Progress, EpochLog]:
    """Put a saved state back, every tensor on the run's `device` (the state may come from another: it is read onto the
    CPU); DVC cleared the stage's outputs before the rerun, so the finished epochs' logs and the best checkpoint so far
    are written again. Each rank takes its own generators back; they come last: nothing after them may draw."""
    device = device or next(model.parameters()).device
    model.load_state_dict(saved["model"])  # copies into the model's own tensors, on its device
    optim.load_state_dict(saved["optim"])  # torch casts the optimizer state to each parameter's device
    method.load_state(to_device(saved["method"], device))
    if averager is not None:
        averager.load_state(to_device(saved.get("averaged", {}), device))
    for t, s in streams.items():
        s.load_state(saved["streams"][t])
    progress = Progress(**saved["progress"])
    for metrics in progress.logged:
        for name, value in metrics.items():
            live.log_metric(name, value)
        live.next_step()
    if out_dir is not None and (store.directory / "best").is_dir():
        shutil.copytree(store.directory / "best", out_dir, dirs_exist_ok=True)
    set_rng_state(saved["rng"][rank % len(saved["rng"])])
    return progress, EpochLog.from_state(saved["log"], device)
