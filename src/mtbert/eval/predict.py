"""Run a multitask model over a task split and score it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

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
def outputs(model: MultitaskModel, data: TaskData, batch_size: int, pad_id: int, device: torch.device,
            progress: Callable[[Iterable], Iterable] | None = None) -> np.ndarray:
    """The head's raw outputs (rows x outputs) in the rows' original order; batches go shortest first."""
    model.eval()
    out = np.zeros((len(data), TASK_SPECS[data.task].n_out), dtype=np.float32)
    batches = sequential_batches(data.lengths(), batch_size)
    for index in (progress(batches) if progress else batches):
        batch = {k: v.to(device) for k, v in collate(data, index, pad_id).items()}
        with autocast(device):
            output = model(data.task, batch)
        out[index] = output.float().cpu().numpy().reshape(len(index), -1)
    return out


def predict(model: MultitaskModel, data: TaskData, batch_size: int, pad_id: int, device: torch.device) -> np.ndarray:
    """Predictions (class, 0/1 or similarity) in the rows' original order."""
    return TASK_SPECS[data.task].predict(outputs(model, data, batch_size, pad_id, device)).astype(np.float64)


def readable(task: str, out: np.ndarray) -> dict[str, np.ndarray]:
    """Raw outputs -> what a person reads: SST class and its five probabilities, the paraphrase probability and
    label, or the similarity on 0-5 (the heads regress 0-5; their rare overshoot is clipped)."""
    spec = TASK_SPECS[task]
    if spec.n_out > 1:
        p = torch.softmax(torch.from_numpy(out), dim=-1).numpy()
        return {"label": p.argmax(-1), **{f"p{k}": p[:, k] for k in range(spec.n_out)}}
    if spec.metric == "accuracy":
        p = 1.0 / (1.0 + np.exp(-out.reshape(-1).astype(np.float64)))
        return {"probability": p, "label": (p > 0.5).astype(int)}
    return {"similarity": np.clip(out.reshape(-1), 0.0, 5.0)}


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
