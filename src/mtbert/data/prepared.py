"""The prepared tables: which exist, their text columns, and reading one back with its schema. Kept apart from
`prepare` so training and evaluation read tables without importing the raw readers and the download."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SPLITS = ("train", "dev", "test")
TASKS = ("sst", "quora", "sts", "cfimdb")
SINGLE = ("sentence",)
PAIR = ("sentence1", "sentence2")
TEXT_COLUMNS = {"sst": SINGLE, "cfimdb": SINGLE, "quora": PAIR, "sts": PAIR}
PHRASES = "phrases.csv"  # SST's labelled inner phrases of the training trees, beside sst/train.csv


def load_split(prepared: Path, task: str, split: str) -> pd.DataFrame:
    """A prepared table with its schema restored (labels Int64 for classes, float for STS)."""
    path = prepared / task / f"{split}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no prepared {task}/{split} table (run the prepare stage)")
    return load_table(path, task)


def load_table(path: Path, task: str | None = None) -> pd.DataFrame:
    """A task table (prepared or augmented) with its schema restored; the task defaults to the parent folder's name."""
    task = task or path.parent.name
    df = pd.read_csv(path, dtype={c: str for c in ("id", "sentence", "sentence1", "sentence2", "split", "split_source")},
                     keep_default_na=False, na_values={"label": [""]})
    df["label"] = df["label"].astype("float64" if task == "sts" else "Int64")
    return df
