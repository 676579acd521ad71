"""Multi-task fine-tuning: summed losses (one batch of every task per step), AdamW with linear warm-up/decay,
per-epoch train and dev metrics through DVCLive, and the best-on-dev checkpoint."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from mtbert.data.batching import BatchStream, TaskData, collate
from mtbert.eval import predict as P
from mtbert.model.multitask import TASK_SPECS, MultitaskModel, save_multitask
from mtbert.train.losses import LOSSES


@dataclass
class TrainConfig:
    mode: Literal["full", "frozen"] = "full"  # frozen: encoder fixed, heads trained (the reports' baseline)
    tasks: list[str] = field(default_factory=lambda: ["sst", "quora", "sts"])
    method: Literal["sum"] = "sum"
    epochs: int = 3
    steps_per_epoch: int | None = 200  # None: as many steps as the largest task has batches
    batch_size: int = 16
    lr: float = 2e-5  # encoder
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0
    max_train_examples: int | None = None  # per task; a smoke-test knob, None for all
    eval_batch_size: int = 64


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_optimizer(model: MultitaskModel, cfg: TrainConfig, total_steps: int):
    """AdamW over the trainable parameters (no decay on biases and LayerNorm), linear warm-up then decay."""
    groups = []
    if cfg.mode == "full":
        enc = [(n, p) for n, p in model.bert.named_parameters()]
        groups += [
            {"params": [p for n, p in enc if p.ndim > 1], "lr": cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": [p for n, p in enc if p.ndim <= 1], "lr": cfg.lr, "weight_decay": 0.0},
        ]
    else:
        model.bert.requires_grad_(False)
    head_params = list(model.heads.parameters())
    if head_params:
        groups.append({"params": head_params, "lr": cfg.head_lr, "weight_decay": cfg.weight_decay})
    optimizer = torch.optim.AdamW(groups)
    warmup = max(1, int(cfg.warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_step(model: MultitaskModel, batches: dict[str, dict], optimizer, scheduler, device) -> dict[str, tuple[float, np.ndarray]]:
    """One summed-loss step over one batch of each task; returns each task's loss and head output."""
    model.train()
    total = 0.0
    out = {}
    for task, batch in batches.items():
        batch = {k: v.to(device) for k, v in batch.items()}
        with P.autocast(device):
            output = model(task, batch)
        loss = LOSSES[TASK_SPECS[task].loss](output, batch["labels"])
        total = total + loss
        out[task] = (loss.item(), output.detach().float().cpu().numpy())
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    scheduler.step()
    return out


def train(model: MultitaskModel, train_data: dict[str, TaskData], dev_data: dict[str, TaskData], cfg: TrainConfig,
          out_dir: Path, live, pad_id: int, resolved: dict, tokenizer_files: list[Path]) -> dict:
    """Train, evaluate on dev after each epoch, keep the best-on-dev checkpoint in `out_dir`; returns its metrics."""
    device = pick_device()
    model.to(device)
    torch.manual_seed(cfg.seed)
    streams = {t: BatchStream(d, cfg.batch_size, cfg.seed + k) for k, (t, d) in enumerate(train_data.items())}
    steps = cfg.steps_per_epoch or max(-(-len(d) // cfg.batch_size) for d in train_data.values())
    optimizer, scheduler = build_optimizer(model, cfg, steps * cfg.epochs)
    best, best_metrics = -np.inf, {}
    for epoch in range(1, cfg.epochs + 1):
        losses = {t: [] for t in train_data}
        preds = {t: [] for t in train_data}
        golds = {t: [] for t in train_data}
        start = time.perf_counter()
        for _ in tqdm(range(steps), desc=f"epoch {epoch}/{cfg.epochs}", unit="step", mininterval=5):
            indices = {t: next(s) for t, s in streams.items()}
            batches = {t: collate(train_data[t], i, pad_id) for t, i in indices.items()}
            for task, (loss, output) in train_step(model, batches, optimizer, scheduler, device).items():
                losses[task].append(loss)
                preds[task].append(TASK_SPECS[task].predict(output))
                golds[task].append(train_data[task].labels[indices[task]])
        seconds = time.perf_counter() - start
        train_scores = {t: P.score(t, np.concatenate(preds[t]), np.concatenate(golds[t])) for t in train_data}
        dev_scores = {t: P.score(t, P.predict(model, d, cfg.eval_batch_size, pad_id, device), d.labels) for t, d in dev_data.items()}
        for task in train_data:
            live.log_metric(f"train/{task}_loss", float(np.mean(losses[task])))
        for name, value in P.summary(train_scores).items():
            live.log_metric(f"train/{name}", value)
        dev_summary = P.summary(dev_scores)
        for name, value in dev_summary.items():
            live.log_metric(f"dev/{name}", value)
        live.log_metric("epoch_seconds", seconds)
        selection = dev_summary.get("overall", float(np.mean([v for v in dev_summary.values()])))
        if selection > best:
            best, best_metrics = selection, dict(dev_summary, epoch=epoch)
            save_multitask(model, out_dir, dict(resolved, best=best_metrics), tokenizer_files)
        live.next_step()
    return best_metrics


def resolved_config(**sections) -> dict:
    """Dataclass sections as plain dicts, for the checkpoint's run.json."""
    return {name: dataclasses.asdict(cfg) for name, cfg in sections.items()}
