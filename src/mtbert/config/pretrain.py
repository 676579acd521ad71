"""The pretraining sections: `pretrain_mlm` (further MLM + NSP on review text) and `pretrain_heads` (the task heads
trained on the frozen encoder before fine-tuning, report 002)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from mtbert.config.types import (SECTION, Bool, Count, Int, NonNegativeFloat, NonNegativeInt, PositiveFloat, Rate,
                                 Seed, TaskName, param)


@dataclass
class HeadPretrainConfig:
    enabled: Bool = False
    epochs: Count = 1
    epoch: Literal["steps", "largest", "smallest", "one_pass"] = param("steps", "what an epoch is, as train.epoch")
    steps_per_epoch: Count | None = param(100, "for epoch=steps")
    batch_size: Count = param(32, "per task and step")
    lr: PositiveFloat = param(1.0e-3, "the heads' (the encoder is frozen)")
    lr_schedule: Literal["linear", "constant"] = param("constant", "report 002: a fixed 1e-3")
    warmup_ratio: Rate = 0.0
    __pydantic_config__ = SECTION


@dataclass
class PretrainConfig:
    enabled: Bool = False
    splits: Annotated[list[Literal["unsup", "train", "test"]], Field(min_length=1)] = param(
        factory=lambda: ["unsup", "train"],
        about="aclImdb parts the reviews come from")
    max_reviews: Count | None = param(20000, "a seeded sample of the chosen splits' reviews; null for all")
    heldout_reviews: Count = param(500, "reviews kept out of training, for the held-out MLM/NSP accuracy")
    max_length: Annotated[Int, Field(ge=8, le=512)] = param(128, "tokens per NSP pair")
    mask_prob: Rate = param(0.15, "share of tokens masked for MLM")
    epochs: Count = 3
    steps_per_epoch: Count | None = param(100, "null: one pass over the training pairs per epoch")
    batch_size: Count = 16
    lr: PositiveFloat = 5.0e-5
    weight_decay: NonNegativeFloat = 0.01
    warmup_ratio: Rate = 0.1
    seed: Seed = 0
    backend: Literal["auto", "gloo", "nccl"] = param("auto", "under torchrun: auto = nccl on GPUs, gloo on CPU")
    save_state_every: NonNegativeInt = param(
        50,
        "steps between resumable states (also at every epoch end; 0: only there)")
    __pydantic_config__ = SECTION


@dataclass
class HeadTrainKeys:
    """The `train` keys the pretrain_heads stage shares with finetune (validated as finetune's are)."""

    tasks: list[TaskName]
    seed: Seed = 0
    max_train_examples: Count | None = None
    eval_batch_size: Count = 64
    __pydantic_config__ = SECTION
