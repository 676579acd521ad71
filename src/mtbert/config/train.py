"""The `train` section: schedule, gradient method, optimisation, regularizers, weight averaging and stopping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from mtbert.config.types import (SECTION, Bool, Count, Float, NonNegativeFloat, NonNegativeInt, PositiveFloat, Rate,
                                 Seed, TaskName, param, registered)

ScheduleName = registered("schedule", "mtbert.train.schedules", "SCHEDULES")
MethodName = registered("gradient method", "mtbert.train.methods.combine", "METHODS")
# The regularizers' sections, named as train/regularizers.py registers them (a test keeps the two equal).
REGULARIZER_SECTIONS = ("simcse", "smart")


SelectOn = Literal["overall", "sst_acc", "quora_acc", "sts_pearson"]


def selection(summary: dict[str, float], metric: str = "overall") -> float:
    """The dev number a run keeps its checkpoint (and stops) by: `metric` (train.select_on) where the run has it, else
    the mean of what there is (a single-task run's own metric)."""
    return summary.get(metric, sum(summary.values()) / len(summary))


def evaluations_without_gain(history: list[dict[str, float]], min_delta: float, metric: str = "overall") -> int:
    """How many dev evaluations in a row, up to the last, did not beat the best before them by more than min_delta."""
    best, waited = -float("inf"), 0
    for summary in history:
        value = selection(summary, metric)
        if value > best + min_delta:  # never true for NaN
            best, waited = value, 0
        else:
            waited += 1
    return waited


@dataclass
class PhrasesConfig:
    enabled: Bool = False
    min_words: Count = param(2, "phrases shorter than this stay out (single words are mostly neutral)")
    max_phrases: Count | None = param(None, "a seeded sample of this many (after min_words); null: all")
    __pydantic_config__ = SECTION


@dataclass
class AveragingConfig:
    kind: Literal["none", "swa", "ema"] = param("none", "swa: equal mean of the steps' weights | ema: moving average")
    start: Rate = param(0.75, "averaging takes the weights after every step past this share of the run's steps")
    decay: Annotated[Float, Field(gt=0, lt=1)] = param(0.99, "ema: weight kept by the average at each step")
    __pydantic_config__ = SECTION


@dataclass
class SimCSEConfig:
    weight: NonNegativeFloat = param(0.0, "0: off")
    temperature: PositiveFloat = 0.05
    tasks: list[TaskName] = param(factory=lambda: ["sst", "quora", "sts"], about="whose sentences it sees")
    partner: Literal["negative", "excluded"] = param(
        "excluded",
        "For pair tasks encoded apart: is a sentence's own partner (the other side of its pair) a negative, or "
        "excluded from the denominator? Duplicate questions and similar STS pairs should not be pushed apart.")
    negatives: Literal["second_view", "both_views"] = param(
        "second_view",
        "The denominator: second_view (Gao et al.: a first view against every second view, N-way) | both_views "
        "(report 001 eq. 1, SimCLR's NT-Xent: each of the 2N views against the other 2N - 1)")
    __pydantic_config__ = SECTION


@dataclass
class SmartConfig:
    weight: NonNegativeFloat = param(0.0, "λ; 0: off")
    sigma: NonNegativeFloat = param(
        1.0e-5,
        "the initial noise on the input embeddings: N(0, σ²), or N(0, σ) (`sigma_is`)")
    sigma_is: Literal["std", "variance"] = param(
        "std",
        "how to read `sigma` (report 004's \"N(0, 1e-5)\" says neither)")
    ascent_steps: NonNegativeInt = param(
        1,
        "normalised gradient-ascent steps on the noise (0: one random perturbation)")
    step_size: PositiveFloat = param(1.0e-3, "η")
    step: Literal["algorithm1", "mtdnn"] = param(
        "algorithm1",
        "algorithm1: Jiang et al.'s Algorithm 1, δ + η g / ‖g‖_∞ (each sequence), projected onto the ∞-ball of "
        "`epsilon` | mtdnn: MT-DNN's perturbation code, δ ← (δ + η g) / ‖δ + η g‖_∞ per token (no ball, `epsilon` "
        "unused)")
    epsilon: PositiveFloat | None = param(
        1.0e-5,
        "radius of the ∞-norm ball the ascent steps are projected onto; null: none")
    masks: Literal["replayed", "fresh"] = param(
        "replayed",
        "replayed: the perturbed passes see the clean pass's dropout masks (the term measures the perturbation alone)"
        " | fresh: each perturbed pass draws its own masks, as MT-DNN reruns the model in training mode")
    tasks: list[TaskName] = param(factory=lambda: ["sst", "quora", "sts"], about="whose batches it regularizes")
    __pydantic_config__ = SECTION

    @property
    def std(self) -> float:
        return self.sigma ** 0.5 if self.sigma_is == "variance" else self.sigma


@dataclass
class PlateauConfig:
    """Train until dev levels off: `epochs` is then the cap."""

    patience: NonNegativeInt = param(
        0,
        "dev evaluations in a row without a gain above min_delta that stop training; 0: off")
    min_delta: NonNegativeFloat = param(0.0, "the smallest gain of the selection metric (train.select_on) that counts")
    __pydantic_config__ = SECTION


@dataclass
class TrainConfig:
    mode: Literal["full", "frozen"] = param(
        "full",
        "frozen: encoder fixed (eval mode, no dropout), heads trained (the reports' baseline)")
    cache_frozen: Bool = param(True, "frozen: heads train on the encoder's outputs computed once (train/cached.py)")
    tasks: Annotated[list[TaskName], Field(min_length=1)] = field(default_factory=lambda: ["sst", "quora", "sts"])
    schedule: ScheduleName = param("summed", "which tasks' batches make up a step: see train/schedules.py")
    task_order: list[TaskName] = param(factory=lambda: ["sst", "quora", "sts"], about="for schedule=sequential")
    method: MethodName = param("sum", "how the tasks' gradients on the encoder combine: see train/methods/combine.py")
    main_task: TaskName = param("sst", "for method=mtrec")
    mtrec_lambda: NonNegativeFloat = param(0.3, "MTRec's weight on the auxiliary tasks' gradients")
    epochs: Count = 3
    epoch: Literal["steps", "largest", "smallest", "one_pass"] = param(
        "steps",
        "What an epoch is: steps (steps_per_epoch steps) | largest / smallest (as many steps as that task has "
        "batches) | one_pass (every task's training examples exactly once): see train/schedules.py")
    steps_per_epoch: Count | None = param(200, "for epoch=steps")
    batch_size: Count = param(16, "per task and step")
    lr: PositiveFloat = param(1e-4, "encoder")
    weight_decay: NonNegativeFloat = param(0.01, "encoder")
    layer_decay: Annotated[Float, Field(gt=0, le=1)] = param(
        1.0,
        "encoder layer k below the top trains at lr * layer_decay ** k")
    head_lr: PositiveFloat = 1e-3
    head_weight_decay: NonNegativeFloat = 0.01
    task_lr: dict[TaskName, PositiveFloat] = param(factory=dict, about="per-task head lr, overriding head_lr")
    task_weight_decay: dict[TaskName, NonNegativeFloat] = param(factory=dict, about="over head_weight_decay")
    optimizers: Literal["single", "per_task"] = param("single", "per_task: one AdamW per head + one for the encoder")
    clip_norm: PositiveFloat | None = param(None, "max global gradient norm")
    warmup_ratio: Rate = param(0.1, "share of the steps with a linearly rising learning rate")
    lr_schedule: Literal["linear", "constant"] = param("linear", "after warm-up: linear decay to 0, or constant")
    grad_diagnostics_every: NonNegativeInt = param(
        25,
        "measure task-gradient cosines every k multi-task steps (0: never)")
    seed: Seed = param(0, "head initialisation, data order, dropout")
    max_train_examples: Count | None = param(None, "per task; a smoke-test knob, null for all")
    sst_phrases: PhrasesConfig = param(factory=PhrasesConfig, about="SST's labelled tree phrases as extra rows")
    eval_batch_size: Count = 64
    sts_loss: Literal["mse", "cosine_embedding"] = param("mse", "cosine_embedding needs a cosine/cosine_corr STS head")
    sst_loss: Literal["cross_entropy", "ordinal"] = param(
        "cross_entropy",
        "ordinal: plus squared EMD over the 5 classes")
    backend: Literal["auto", "gloo", "nccl"] = param("auto", "under torchrun: auto = nccl on GPUs, gloo on CPU")
    compile: Bool = param(False, "torch.compile the encoder (dynamic shapes: batches are padded to their own longest)")
    nonfinite: Literal["stop", "skip"] = param(
        "stop",
        "a step whose loss is NaN or infinite: stop with an error naming step, task and learning rates | skip it (no "
        "update; counted as train/skipped_steps per epoch)")
    save_state_every: NonNegativeInt = param(
        50,
        "steps between resumable states (also at every epoch end; 0: only there)")
    simcse: SimCSEConfig = param(factory=SimCSEConfig, about="SimCSE's contrastive loss (report 001)")
    smart: SmartConfig = param(factory=SmartConfig, about="SMART's smoothness regularizer (report 004)")
    weight_averaging: AveragingConfig = param(factory=AveragingConfig, about="SWA / EMA over the last steps")
    plateau: PlateauConfig = param(factory=PlateauConfig, about="stop once dev levels off (epochs: the cap)")
    select_on: SelectOn = param(
        "overall",
        "the dev metric a run keeps its best checkpoint by and, with `plateau`, stops by: overall, or one task's")
    loss_weights: dict[TaskName, PositiveFloat] = param(
        factory=dict,
        about="per-task factor on the task's loss (its regularizers included), 1 where unset, e.g. {sst: 2.0}")
    __pydantic_config__ = SECTION

    def plateaued(self, history: list[dict[str, float]]) -> bool:
        return self.plateau.patience > 0 and \
            evaluations_without_gain(history, self.plateau.min_delta, self.select_on) >= self.plateau.patience

    def __post_init__(self) -> None:
        if self.mode == "frozen" and any(getattr(self, name).weight > 0 for name in REGULARIZER_SECTIONS):
            raise ValueError("train.mode=frozen trains the heads alone; SimCSE and SMART act through the encoder: set "
                             "their weight to 0 or train.mode=full")
        if set(self.loss_weights) - set(self.tasks):
            raise ValueError(f"train.loss_weights names {sorted(set(self.loss_weights) - set(self.tasks))}, which "
                             f"train.tasks {self.tasks} does not train")
        if self.epoch == "steps" and not self.steps_per_epoch:
            raise ValueError("train.epoch=steps needs train.steps_per_epoch (a positive number); for every example once "
                             "per epoch set train.epoch=one_pass")

    def regularizers(self, task: str) -> dict[str, object]:
        """The auxiliary losses switched on (weight > 0) for `task`, with their params sections."""
        sections = {name: getattr(self, name) for name in REGULARIZER_SECTIONS}
        return {name: c for name, c in sections.items() if c.weight > 0 and task in c.tasks}
