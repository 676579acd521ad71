"""The pretrain_heads stage's params: the task heads trained on the frozen encoder before fine-tuning (report 002)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mtbert.config import SECTION, Bool, Count, PositiveFloat, Rate


@dataclass
class HeadPretrainConfig:
    enabled: Bool = False
    epochs: Count = 1
    epoch: Literal["steps", "largest", "smallest", "one_pass"] = "steps"  # what an epoch is, as train.epoch
    steps_per_epoch: Count | None = 100  # for epoch=steps
    batch_size: Count = 32  # per task and step
    lr: PositiveFloat = 1.0e-3  # the heads' (the encoder is frozen)
    lr_schedule: Literal["linear", "constant"] = "constant"  # report 002: a fixed 1e-3
    warmup_ratio: Rate = 0.0
    __pydantic_config__ = SECTION
