"""Which of SST's tree phrases (data/prepared/sst/phrases.csv, written by the prepare stage) training adds to SST's
sentences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mtbert.config import SECTION, Bool, Count
from mtbert.data.prepared import PHRASES, load_table
from mtbert.seeds import derive


@dataclass
class PhrasesConfig:
    enabled: Bool = False
    min_words: Count = 2  # phrases shorter than this stay out (single words are mostly neutral)
    max_phrases: Count | None = None  # a seeded sample of this many (after min_words); null: all
    __pydantic_config__ = SECTION


def training_phrases(prepared: Path, cfg: PhrasesConfig, seed: int) -> pd.DataFrame | None:
    """The phrase rows `cfg` adds to SST's training table (None when off)."""
    if not cfg.enabled:
        return None
    path = prepared / "sst" / PHRASES
    if not path.exists():
        raise FileNotFoundError(f"{path}: train.sst_phrases.enabled needs the phrase table the prepare stage writes "
                                "(run `dvc repro prepare`)")
    df = load_table(path, "sst")
    df = df[df["words"] >= cfg.min_words]
    if cfg.max_phrases is not None and cfg.max_phrases < len(df):
        df = df.sample(n=cfg.max_phrases, random_state=np.random.default_rng(derive(seed, "sst_phrases")))
    return df.reset_index(drop=True)
