"""Which of SST's tree phrases (data/prepared/sst/phrases.csv, written by the prepare stage) training adds to SST's
sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mtbert.config.train import PhrasesConfig
from mtbert.data.prepared import PHRASES, load_table
from mtbert.seeds import derive


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
