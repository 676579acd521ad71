"""The scoring sections: `evaluate` (splits, bootstrap intervals) and `reference` (what no fine-tuning gives)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from mtbert.config.types import SECTION, Count, Int, Seed, param


@dataclass
class ReferenceConfig:
    batch_size: Count = param(64, "sentences per encoder call")
    cv_folds: Annotated[Int, Field(ge=2)] = param(5, "for the SST classifier's regularisation, on train")
    Cs: Count = param(10, "candidate inverse regularisation strengths (log-spaced 1e-4..1e4)")
    seed: Seed = 0
    __pydantic_config__ = SECTION


@dataclass
class BootstrapConfig:
    resamples: Count = param(1000, "resamples of each split's examples")
    seed: Seed = 0
    __pydantic_config__ = SECTION


@dataclass
class EvaluateConfig:
    batch_size: Count = param(64, "rows per forward pass, sorted by length")
    splits: Annotated[tuple[Literal["dev", "test"], ...], Field(min_length=1)] = param(("dev", "test"), "scored splits")
    bootstrap: BootstrapConfig = param(factory=BootstrapConfig, about="95% intervals over each split's examples")
    __pydantic_config__ = SECTION
