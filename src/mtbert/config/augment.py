"""The `augment` section: WordNet/EDA twins of training rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mtbert.config.types import SECTION, Bool, Count, NonNegativeInt, Rate, Seed, param


@dataclass
class AugmentConfig:
    enabled: Bool = False
    tasks: list[Literal["sst", "quora", "sts", "cfimdb"]] = param(
        factory=lambda: ["sst", "sts"],
        about="whose training rows get augmented twins: the report augmented SST and STS, not Quora")
    copies: Count = param(1, "augmented twins per training row")
    synonym_rate: Rate = param(0.1, "share of a sentence's words replaced by a WordNet synonym (at least one)")
    insert_rate: Rate = param(0.0, "synonyms of random words inserted at random places, per word")
    swap_rate: Rate = param(0.0, "random swaps of two words, per word")
    delete_rate: Rate = param(0.0, "probability that each word is deleted")
    synonym_senses: Literal["first", "all"] = param(
        "first",
        "first: lemmas of the word's most frequent sense for its part of speech in context | all: every sense (EDA)")
    samples: NonNegativeInt = param(20, "replacements shown per task in reports/augment.md")
    seed: Seed = 0
    __pydantic_config__ = SECTION
