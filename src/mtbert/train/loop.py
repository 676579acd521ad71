"""Multi-task fine-tuning: a task schedule picks each step's batches, a gradient method combines the tasks'
gradients on the shared encoder, per-epoch train/dev metrics and diagnostics go to DVCLive, and the best-on-dev
checkpoint is kept."""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mtbert.config.train import TrainConfig, evaluations_without_gain, selection
from mtbert.data.batching import BatchStream, TaskData, collate
from mtbert.device import peak_memory_mb, reuse_freed_memory
from mtbert.eval import predict as P
from mtbert.eval.confidence import bootstrap_ci
from mtbert.io import write_json, write_text
from mtbert.model.card import render_card
from mtbert.model.export import write_heads, write_sentence_transformers
from mtbert.model.multitask import TASK_SPECS, MultitaskModel, save_multitask
from mtbert.seeds import derive
from mtbert.train import passes as seeded
from mtbert.train.averaging import WeightAverager
from mtbert.train.cached import FeatureCache, predict_cached
from mtbert.train.distributed import NoLive, Ranks, data_parallel
from mtbert.train.epoch_log import EpochLog
from mtbert.train.losses import LOSSES
from mtbert.train.methods.backward import GradientBuffers, backward, forms_jacobian, sparse_lookups
from mtbert.train.methods.combine import GradientMethod, MethodContext
from mtbert.train.nonfinite import NonFiniteGuard
from mtbert.train.optim import OptimizerSet, build_optimizers
from mtbert.train.passes import PassSeeds
from mtbert.train.regularizers import REGULARIZERS, CleanPass
from mtbert.train.resume import Progress, restore_state, save_state
from mtbert.train.schedules import SCHEDULES, EpochPlan, epoch_size, passes
from mtbert.train.state import StateStore, rng_state


def loss_name(cfg: TrainConfig, task: str) -> str:
    """The loss a task trains with: SST's and STS's as `train` sets them, the others' by their task."""
    return {"sts": cfg.sts_loss, "sst": cfg.sst_loss}.get(task, TASK_SPECS[task].loss)


def task_losses(model: MultitaskModel, batches: dict[str, dict], device: torch.device, cfg: TrainConfig | None = None,
                scales: dict[str, float] | None = None, step: int = 0, ranks: Ranks = Ranks(),
                ) -> dict[str, tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]]:
    """Each task's loss (its task loss plus its weighted regularizers, times its `train.loss_weights` factor and
    `scales[task]` when given: a rank's share of the batch), its detached outputs, and the parts' values ("task" and
    each regularizer unweighted, unscaled), so curves stay comparable whether regularizers are on or off. Each pass's
    dropout draws from seeds of its own (run seed, task, `step`, rank): what a regularizer or another task draws never
    shifts them. Outputs and parts stay on the device (detached): the loop reads them once per epoch, not once per
    step."""
    cfg = cfg or TrainConfig()
    out = {}
    for task, batch in batches.items():
        cached = batch.get("features")  # a frozen encoder's outputs (train/cached.py)
        batch = {k: v.to(device) for k, v in batch.items() if k != "features"}
        seeds = PassSeeds(cfg.seed, task, step, ranks.rank)
        with P.autocast(device):
            features = cached if cached is not None else seeded.encode(model, batch, seeds)
            output = seeded.head(model, task, features, seeds)
            loss = LOSSES[loss_name(cfg, task)](output, batch["labels"])
            parts = {"task": loss.detach()}
            clean = CleanPass(features, output, seeds, ranks.gather_rows, model.input_form(task) == "siamese")
            for name, rcfg in cfg.regularizers(task).items():
                term = REGULARIZERS[name](model, task, batch, clean, rcfg)
                parts[name] = term.detach()
                # the manipulation's size against the loss it joins: a page can tell an inert one from a null effect
                parts[f"{name}_relative"] = (rcfg.weight * term.detach() / parts["task"].abs().clamp_min(1e-12)).float()
                loss = loss + rcfg.weight * term
        if task in cfg.loss_weights:
            loss = loss * cfg.loss_weights[task]
        if scales is not None:
            loss = loss * scales[task]
        out[task] = (loss, output.detach(), parts)
    return out


def train(model: MultitaskModel, train_data: dict[str, TaskData], dev_data: dict[str, TaskData], cfg: TrainConfig,
          out_dir: Path | None, live, pad_id: int, resolved: dict, tokenizer_files: list[Path],
          ranks: Ranks = Ranks(), store: StateStore | None = None, feature_store: Path | None = None) -> dict:
    """Train, evaluate on dev after each epoch, keep the best-on-dev checkpoint in `out_dir`; returns its metrics.
    Under several ranks each trains on its shard of every batch; only the main rank saves and logs (`out_dir` and
    `live` may be None elsewhere). With a `store`, a resumable state is written every `store.every` steps and at each
    epoch end, a run resumes from the stored state its code and params wrote, and the state is removed at the end.
    `feature_store`: where a frozen encoder's outputs are kept for later runs (train/cached.py)."""
    trainer = Trainer(model, train_data, dev_data, cfg, out_dir, live, pad_id, resolved, tokenizer_files, ranks, store,
                      feature_store)
    return trainer.fit()


class Trainer:
    """One fine-tuning run. `fit` runs the epochs (stopping at the cap or the plateau), `step` is one training step
    (each task's forward, the gradient method's combination, clipping, the optimizer and schedule, the log) and
    `evaluate` closes an epoch on dev. Devices, data parallelism, seeds, autocast and resumable states live in their
    own modules (distributed, passes, eval.predict, resume)."""

    def __init__(self, model: MultitaskModel, train_data: dict[str, TaskData], dev_data: dict[str, TaskData],
                 cfg: TrainConfig, out_dir: Path | None, live, pad_id: int, resolved: dict,
                 tokenizer_files: list[Path], ranks: Ranks = Ranks(), store: StateStore | None = None,
                 feature_store: Path | None = None) -> None:
        if cfg.sts_loss == "cosine_embedding" and "sts" in train_data and model.cfg.heads["sts"] not in ("cosine", "cosine_corr"):
            raise ValueError(f"train.sts_loss=cosine_embedding needs model.heads.sts cosine or cosine_corr "
                             f"(it reads the head's output as 2.5 (cos + 1)), not {model.cfg.heads['sts']!r}")
        if cfg.mode == "frozen" and model.task_layers:
            raise ValueError(f"model.task_layers={model.cfg.task_layers} with train.mode=frozen: the per-task copies of "
                             f"the top layers would train while the encoder stays fixed; set model.task_layers: 0")
        self.model, self.train_data, self.dev_data, self.cfg = model, train_data, dev_data, cfg
        self.out_dir, self.pad_id, self.tokenizer_files, self.ranks, self.store = out_dir, pad_id, tokenizer_files, ranks, store
        self.device = device = ranks.device()
        reuse_freed_memory()
        self.live = live if ranks.is_main else NoLive()
        model.to(device)
        torch.manual_seed(cfg.seed)  # nothing should draw from it (every source has its own seed): a safety net
        rng = np.random.default_rng(derive(cfg.seed, "schedule"))
        if cfg.mode == "frozen":
            model.bert.requires_grad_(False)
        self.tasks = tasks = list(train_data)
        sizes = {t: len(d) for t, d in train_data.items()}
        self.streams = {t: BatchStream(d, cfg.batch_size, derive(cfg.seed, "batches", t)) for t, d in train_data.items()}
        steps, budgets = epoch_size(cfg.epoch, sizes, cfg.batch_size, cfg.steps_per_epoch)
        self.plans = plans = [SCHEDULES[cfg.schedule](EpochPlan(tasks, sizes, steps, e, cfg.epochs, list(cfg.task_order),
                                                                rng, budgets))
                              for e in range(1, cfg.epochs + 1)]
        epoch_passes = {t: [passes(plan, sizes, cfg.batch_size)[t] for plan in plans] for t in tasks}
        print(f"train.epoch={cfg.epoch}: {len(plans[0])} steps in epoch 1; passes over each task's training set per epoch:",
              {t: p[0] if len(set(p)) == 1 else p for t, p in epoch_passes.items()})
        self.resolved = dict(resolved, epoch_passes=epoch_passes, epoch_steps=[len(plan) for plan in plans])
        task_steps = Counter(t for plan in plans for step in plan for t in step)
        multi_task_steps = sum(len(step) > 1 for plan in plans for step in plan)
        self.method = GradientMethod.build(cfg.method, MethodContext(tasks=tasks, main_task=cfg.main_task,
                                                                     mtrec_lambda=cfg.mtrec_lambda))
        self.notes = notes = []
        if self.method.needs_task_gradients and multi_task_steps == 0:
            notes.append(f"train.method={cfg.method} combines gradients of several tasks, but schedule {cfg.schedule} puts "
                         "one task in every step: every step is a plain step")
        if self.method.needs_task_gradients and cfg.mode == "frozen" and not model.shared_parameters(tasks):
            notes.append(f"train.method={cfg.method} acts on parameters several tasks share; with the encoder frozen and no "
                         "shared head trunk there are none: heads train with plain steps")
        for note in notes:
            warnings.warn(note, stacklevel=1)
        head_lr = {t: cfg.task_lr.get(t, cfg.head_lr) for t in tasks}
        head_wd = {t: cfg.task_weight_decay.get(t, cfg.head_weight_decay) for t in tasks}
        total = sum(len(plan) for plan in plans)
        self.optim: OptimizerSet = build_optimizers(
            model.bert, model.heads, trunks=model.trunks, per_task=cfg.optimizers == "per_task", encoder_lr=cfg.lr,
            encoder_wd=cfg.weight_decay, head_lr=head_lr, head_wd=head_wd, total_steps=total,
            warmup_ratio=cfg.warmup_ratio, task_steps=task_steps, lr_schedule=cfg.lr_schedule,
            layer_decay=cfg.layer_decay, task_layers=model.task_layers)
        self.averager = WeightAverager(model, cfg.weight_averaging, total)  # copies before compiling
        if cfg.compile:
            model.bert.compile(dynamic=True)  # in place: state_dict keys unchanged
        self.buffers = GradientBuffers()
        self.forward = data_parallel(model, lambda m, batches, scales, key: task_losses(m, batches, device, cfg, scales,
                                                                                        key, ranks), ranks)
        self.progress, self.log = Progress(), EpochLog()
        saved, said = store.load() if store is not None else (None, "")
        if said:
            print(f"train state: {said}")
        if saved is not None:
            self.progress, self.log = restore_state(saved, store, model, self.optim, self.method, self.streams, self.live,
                                                    out_dir, ranks.rank, self.averager, device)
        self.caches = self.dev_caches = None
        if cfg.mode == "frozen" and cfg.cache_frozen:
            self.caches = {t: FeatureCache.build(model, d, cfg.eval_batch_size, pad_id, device, feature_store)
                           for t, d in train_data.items()}
            self.dev_caches = {t: FeatureCache.build(model, d, cfg.eval_batch_size, pad_id, device, feature_store)
                               for t, d in dev_data.items()}
        self.guard = NonFiniteGuard(cfg.nonfinite, self.optim, ranks)
        self.guard.last_finite = self.progress.last_finite
        self.first_step = np.cumsum([0] + [len(plan) for plan in plans])  # a step's key: its number in the whole run

    def fit(self) -> dict:
        """Every epoch from where a resumed run stands, until the cap or the plateau; the best-on-dev metrics."""
        cfg, progress = self.cfg, self.progress
        resume_epoch, skip = progress.epoch, progress.step
        for epoch, plan in enumerate(self.plans, start=1):
            if epoch < resume_epoch:
                continue
            if cfg.plateaued(progress.history):  # a resumed run whose dev had levelled off before it was cut
                break
            if epoch > resume_epoch:
                self.log, skip = EpochLog(), 0
            start = time.perf_counter()
            for step, step_tasks in enumerate(tqdm(plan[skip:], desc=f"epoch {epoch}/{cfg.epochs}", unit="step",
                                                   mininterval=5, disable=not self.ranks.is_main, initial=skip,
                                                   total=len(plan)), start=skip + 1):
                taken = self.step(epoch, step, step_tasks)
                if taken and self.store is not None and self.store.every and step % self.store.every == 0 \
                        and step < len(plan):
                    self.log.seconds += time.perf_counter() - start
                    start = time.perf_counter()
                    self.snapshot(epoch, step, self.log)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.log.seconds += time.perf_counter() - start
            self.evaluate(epoch)
            if cfg.plateaued(progress.history):
                break
            if epoch < len(self.plans):
                self.snapshot(epoch + 1, 0, EpochLog())
        return self.finish()

    def step(self, epoch: int, step: int, step_tasks: list[str]) -> bool:
        """One training step on the tasks the schedule gave it; False when a non-finite loss or gradient skipped it."""
        model, cfg, ranks, log = self.model, self.cfg, self.ranks, self.log
        model.train()
        if cfg.mode == "frozen":
            model.bert.eval()  # a fixed feature extractor: no dropout, as its cached outputs
        key = int(self.first_step[epoch - 1]) + step
        drawn = {t: next(self.streams[t]) for t in step_tasks}  # every rank draws the same batches
        indices = {t: ranks.shard(i) for t, i in drawn.items()}
        scales = {t: ranks.loss_scale(len(indices[t]), len(i)) for t, i in drawn.items()} if ranks.enabled else None
        # forward: each task's loss (with its regularizers) on its batch
        measure = (len(step_tasks) > 1 and cfg.grad_diagnostics_every > 0
                   and self.progress.multi_step % cfg.grad_diagnostics_every == 0)
        self.progress.multi_step += len(step_tasks) > 1
        batches = self.batches(indices)
        forms_j = forms_jacobian(model, step_tasks, self.method, measure)
        with model.sparse_row_gradients(sparse_lookups(cfg.compile, ranks.enabled, forms_j)):
            if forms_j:  # J is reduced by hand: DDP would join the graphs
                results = task_losses(model, batches, self.device, cfg, scales, key, ranks)
            else:
                results = self.forward(batches, scales, key)
        losses = {t: r[0] for t, r in results.items()}
        if not self.guard.keep(losses, epoch, step):
            self.optim.skip(step_tasks)
            log.skipped += 1
            return False
        # combine and backward: the method's direction on shared parameters, each task's own gradient elsewhere
        self.optim.zero_grad()
        cos = backward(model, losses, self.method, jacobian=measure, buffers=self.buffers, ranks=ranks,
                       draw_seed=derive(cfg.seed, "method", key))
        # clip, then the optimizers and their schedules
        if not self.guard.keep_gradients(model, cfg.clip_norm, epoch, step):
            self.optim.zero_grad()
            self.optim.skip(step_tasks)
            log.skipped += 1
            return False
        self.optim.step(step_tasks)
        self.averager.update(model, key)
        # log: on the device, read once at the epoch's end
        log.steps += 1
        for task, (_, output, parts) in results.items():
            log.task_steps[task] += 1
            log.losses[task].append(parts.pop("task"))
            for name, value in parts.items():
                log.aux[f"{task}_{name}"].append(value)
            log.outputs[task].append(output)
            log.golds[task].append(self.train_data[task].labels[indices[task]])
        if cos is not None:
            for i, a in enumerate(step_tasks):
                for j in range(i + 1, len(step_tasks)):
                    log.cosines[f"{a}_{step_tasks[j]}"].append(cos[i, j])
        return True

    def batches(self, indices: dict[str, np.ndarray]) -> dict[str, dict]:
        """Each task's rows: cached encoder outputs for a frozen encoder, else padded token ids."""
        if self.caches is not None:
            return {t: {"features": self.caches[t].features(i),
                        "labels": torch.tensor(self.train_data[t].labels[i], dtype=torch.float32)}
                    for t, i in indices.items()}
        return {t: collate(self.train_data[t], i, self.pad_id) for t, i in indices.items()}

    def evaluate(self, epoch: int) -> None:
        """The epoch's train metrics and dev scores logged; the checkpoint kept when dev improved."""
        cfg, progress, model = self.cfg, self.progress, self.model
        epoch_metrics = self.log.metrics(self.tasks)
        bad = {t: epoch_metrics[f"train/{t}_loss"] for t in self.tasks
               if f"train/{t}_loss" in epoch_metrics and not np.isfinite(epoch_metrics[f"train/{t}_loss"])}
        if bad:  # the study runner records such a run as diverged (NaN) and goes on; nothing is saved
            raise FloatingPointError(f"non-finite training loss in epoch {epoch}: mean loss per task {bad}; lower "
                                     f"train.lr or the regularizer weights")
        scored = self.averager.model_to_score(model)  # the average once it holds a step
        predictions = {t: predict_cached(scored, self.dev_caches[t], cfg.eval_batch_size) if self.dev_caches
                       else P.predict(scored, d, cfg.eval_batch_size, self.pad_id, self.device)
                       for t, d in self.dev_data.items()}
        dev_scores = {t: P.score(t, predictions[t], d.labels) for t, d in self.dev_data.items()}
        dev_summary = P.summary(dev_scores)
        averaged = {"train/averaged_steps": self.averager.steps} if self.averager.averaged is not None else {}
        epoch_logged = {**epoch_metrics, **averaged, "time/peak_memory_mb": peak_memory_mb(self.device),
                        **{f"dev/{name}": value for name, value in dev_summary.items()}}
        for name, value in epoch_logged.items():
            self.live.log_metric(name, value)
        progress.logged.append(epoch_logged)
        progress.history.append(dev_summary)
        chosen = selection(dev_summary, cfg.select_on)
        if chosen > progress.best:  # never true for NaN (e.g. a constant STS output has no Pearson r)
            progress.best, progress.best_metrics = chosen, dict(dev_summary, epoch=epoch)
            if self.ranks.is_main and self.out_dir is not None:
                self.keep(scored, {t: (predictions[t], d.labels) for t, d in self.dev_data.items()})
        self.live.next_step()

    def keep(self, scored: MultitaskModel, dev: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """The best-on-dev checkpoint into `out_dir`: our weights and run.json, the files sentence-transformers loads,
        the heads on their own, and a model card with the dev metrics' 95% bootstrap intervals."""
        best = self.progress.best_metrics
        save_multitask(scored, self.out_dir, dict(self.resolved, best=best, notes=self.notes), self.tokenizer_files)
        write_sentence_transformers(scored, self.out_dir, scored.cfg.max_length)
        write_heads(scored, self.out_dir)
        card = render_card(resolved_config(model=scored.cfg, train=self.cfg), best,
                           bootstrap_ci(dev, resamples=1000, seed=0))
        write_text(self.out_dir / "README.md", card)

    def snapshot(self, epoch: int, step: int, epoch_log: EpochLog) -> None:
        """A resumable state: the run resumes at `step` of `epoch` with `epoch_log` (nothing without a store)."""
        if self.store is None:
            return
        rng = self.ranks.gather_objects(rng_state())  # every rank's generators: each resumes its own
        if self.ranks.is_main:
            save_state(self.store, dataclasses.replace(self.progress, epoch=epoch, step=step), epoch_log, self.model,
                       self.optim, self.method, self.streams, self.out_dir, rng, self.averager)

    def finish(self) -> dict:
        """Where and why training stopped into run.json; the resumable state removed; the best-on-dev metrics."""
        progress = self.progress
        if not progress.best_metrics:
            raise RuntimeError(f"no epoch gave a dev score to select a checkpoint by (a NaN metric: constant predictions, "
                               f"e.g. a dead STS head, have no Pearson r); dev metrics per epoch: {progress.history}")
        stopped = stop_record(self.cfg, progress.history, len(self.plans))
        print(f"stopped after epoch {stopped['epoch']} of at most {len(self.plans)}: {stopped['by']}"
              + (" while dev was still rising" if stopped["still_rising"] else ""))
        if self.ranks.is_main and self.out_dir is not None:
            run_json = self.out_dir / "run.json"
            write_json(run_json, dict(json.loads(run_json.read_text()), stopped=stopped))
        if self.store is not None and self.ranks.is_main:
            self.store.clear()  # finished: a rerun starts fresh
        return progress.best_metrics


def stop_record(cfg: TrainConfig, history: list[dict[str, float]], cap: int) -> dict:
    """Where and why training stopped: the plateau rule, or the cap (`epochs`), and whether dev still rose then (its
    last evaluation beat the best before it by more than min_delta)."""
    waited = evaluations_without_gain(history, cfg.plateau.min_delta, cfg.select_on)
    by = "plateau" if cfg.plateaued(history) else "cap"
    return {"epoch": len(history), "cap": cap, "by": by, "still_rising": by == "cap" and waited == 0 and len(history) > 1,
            "patience": cfg.plateau.patience, "min_delta": cfg.plateau.min_delta}


def resolved_config(**sections) -> dict:
    """Dataclass sections as plain dicts, for the checkpoint's run.json."""
    return {name: dataclasses.asdict(cfg) for name, cfg in sections.items()}
