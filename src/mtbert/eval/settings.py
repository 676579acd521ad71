"""The evaluate stage's params: batch size, the splits scored, and the bootstrap behind each metric's interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from mtbert.config import SECTION, Count, Seed


@dataclass
class BootstrapConfig:
    resamples: Count = 1000  # resamples of each split's examples
    seed: Seed = 0
    __pydantic_config__ = SECTION


@dataclass
class EvaluateConfig:
    batch_size: Count = 64  # rows per forward pass, sorted by length
    splits: Annotated[tuple[Literal["dev", "test"], ...], Field(min_length=1)] = ("dev", "test")  # scored splits
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)  # 95% intervals over each split's examples
    __pydantic_config__ = SECTION
