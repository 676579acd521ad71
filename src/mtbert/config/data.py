"""The `data` sections: `data.download` (which inputs, from where) and `data.prepare` (the Quora split)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mtbert.config.types import SECTION, PositiveFloat, Rate, Seed, param, registered

SourceName = registered("source", "mtbert.data.sources", "SOURCES")


def _all_sources() -> list[str]:
    from mtbert.data.sources import SOURCES

    return list(SOURCES)


@dataclass
class DownloadConfig:
    sources: list[SourceName] = param(factory=_all_sources, about="the inputs to fetch")
    origins: list[Literal["mirror", "url"]] = param(
        factory=lambda: ["mirror", "url"],
        about='where to look, in order: "mirror" ($MTL_MIRROR, when set) and "url" (the canonical address)')
    timeout_s: PositiveFloat = param(60.0, "per request, online")
    __pydantic_config__ = SECTION


@dataclass
class CheckpointConfig:
    """The `model` keys that choose which pretrained checkpoint to fetch."""

    checkpoint: str = "sentence-transformers/all-MiniLM-L6-v2"
    revision: str = "main"
    __pydantic_config__ = SECTION


@dataclass
class QuoraSplitConfig:
    ratios: dict[str, Rate] = param(factory=lambda: {"train": 0.8, "dev": 0.1, "test": 0.1}, about="summing to 1")
    seed: Seed = param(0, "which questions land in which split")
    __pydantic_config__ = SECTION

    def __post_init__(self) -> None:
        if set(self.ratios) != {"train", "dev", "test"}:
            raise ValueError(f"quora_split.ratios: shares for exactly train, dev and test, got {sorted(self.ratios)}")
        if abs(sum(self.ratios.values()) - 1.0) > 1e-6:
            raise ValueError(f"quora_split.ratios: the shares must sum to 1, got {sum(self.ratios.values()):g}")


@dataclass
class PrepareConfig:
    quora: Literal["auto", "cs224n", "resplit"] = param(
        "auto",
        "auto: the CS224N Quora splits when quora-train.csv was downloaded, else the offline re-split of "
        "quora-dev.csv")
    quora_split: QuoraSplitConfig = param(factory=QuoraSplitConfig, about="the offline re-split")
    __pydantic_config__ = SECTION
