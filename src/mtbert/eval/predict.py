"""Run a multitask model over a task split and score it."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from mtbert.data.batching import TaskData, collate, sequential_batches
from mtbert.eval import metrics
from mtbert.model.multitask import TASK_SPECS, MultitaskModel


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on a GPU; full precision on the CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def predict(model: MultitaskModel, data: TaskData, batch_size: int, pad_id: int, device: torch.device) -> np.ndarray:
    """Predictions (class, 0/1 or similarity) in the rows' original order."""
    model.eval()
    spec = TASK_SPECS[data.task]
    out = np.zeros(len(data))
    for index in sequential_batches(data.lengths(), batch_size):
        batch = {k: v.to(device) for k, v in collate(data, index, pad_id).items()}
        with autocast(device):
            output = model(data.task, batch)
        out[index] = spec.predict(output.float().cpu().numpy())
    return out


def score(task: str, predictions: np.ndarray, labels: np.ndarray) -> float | None:
    """The task's metric over labelled rows (None when the split has no labels)."""
    known = ~np.isnan(labels)
    if not known.any():
        return None
    if TASK_SPECS[task].metric == "pearson":
        return metrics.pearson(predictions[known], labels[known])
    return metrics.accuracy(predictions[known], labels[known].astype(int))


METRIC_NAMES = {"sst": "sst_acc", "quora": "quora_acc", "sts": "sts_pearson", "cfimdb": "cfimdb_acc"}


def summary(scores: dict[str, float | None]) -> dict[str, float]:
    """Per-task metrics under their report names, plus the overall score when all three tasks are present."""
    out = {METRIC_NAMES[t]: s for t, s in scores.items() if s is not None}
    if all(scores.get(t) is not None for t in ("sst", "quora", "sts")):
        out["overall"] = metrics.overall(scores["sst"], scores["quora"], scores["sts"])
    return out
