"""How training cost grows with the training set and with max_length: the measured cost of one batch of each task
(forward + backward) and of one optimizer step, composed into seconds per one_pass epoch."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from mtbert.bench.measure import _sync, in_fresh_process
from mtbert.bench.workload import SAMPLE_ROWS
from mtbert.config.model import ModelConfig
from mtbert.config.train import TrainConfig
from mtbert.data.batching import BatchStream, collate, load_task
from mtbert.device import peak_memory_mb, pick_device
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.loop import task_losses
from mtbert.train.optim import build_optimizers


@dataclass
class BatchCosts:
    max_length: int
    seconds_per_batch: dict[str, float]  # forward + backward of one batch of the task
    seconds_per_optimizer_step: float
    peak_memory_mb: float

    def epoch_seconds(self, examples: dict[str, int], batch_size: int) -> float:
        """A one_pass epoch of the summed schedule: every batch of every task once; as many optimizer steps as the
        largest task has batches."""
        batches = {t: math.ceil(n / batch_size) for t, n in examples.items()}
        return (sum(batches[t] * self.seconds_per_batch[t] for t in batches)
                + max(batches.values()) * self.seconds_per_optimizer_step)


def _costs(mcfg: ModelConfig, tcfg: TrainConfig, checkpoint: Path, prepared: Path, max_length: int, n_batches: int,
           sample_rows: int) -> BatchCosts:
    device = pick_device()
    tokenizer = Tokenizer.from_checkpoint(checkpoint, max_length)
    torch.manual_seed(0)
    model = MultitaskModel(load_pretrained(checkpoint)[0], mcfg, tcfg.tasks).to(device)
    model.train()
    optim = build_optimizers(model.bert, model.heads, per_task=False, encoder_lr=tcfg.lr, encoder_wd=tcfg.weight_decay,
                             head_lr={t: tcfg.head_lr for t in tcfg.tasks}, head_wd={t: tcfg.head_weight_decay for t in tcfg.tasks},
                             total_steps=1000, warmup_ratio=tcfg.warmup_ratio)
    per_batch, optimizer = {}, []
    for k, task in enumerate(tcfg.tasks):
        data = load_task(prepared, tokenizer, task, "train", model.input_form(task), sample_rows, seed=0)
        stream = BatchStream(data, tcfg.batch_size, seed=k)
        batches = [collate(data, next(stream), tokenizer.pad_id) for _ in range(n_batches + 1)]
        seconds = []
        for i, batch in enumerate(batches):
            optim.zero_grad()
            _sync(device)
            start = time.perf_counter()
            task_losses(model, {task: batch}, device, tcfg)[task][0].backward()
            _sync(device)
            middle = time.perf_counter()
            optim.step([task])
            _sync(device)
            if i:  # the first batch warms up
                seconds.append(middle - start)
                optimizer.append(time.perf_counter() - middle)
        per_batch[task] = sum(seconds) / len(seconds)
    return BatchCosts(max_length, per_batch, sum(optimizer) / len(optimizer), peak_memory_mb(device))


def batch_costs(mcfg: ModelConfig, tcfg: TrainConfig, checkpoint: Path, prepared: Path, max_length: int,
                n_batches: int = 8, sample_rows: int = SAMPLE_ROWS) -> BatchCosts:
    """Costs at `max_length`, from `n_batches` batches of each task drawn from a `sample_rows` sample of its training
    rows (a batch's cost depends on its lengths, not on how many rows the task has), in a fresh process."""
    return in_fresh_process(_costs, mcfg, tcfg, checkpoint, prepared, max_length, n_batches, sample_rows)
