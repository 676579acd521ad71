"""Tokenised task data, length-bucketed batches and dynamic padding (never padding to a fixed 512)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mtbert.data.prepared import load_split, load_table
from mtbert.text.tokenizer import Encoded, Tokenizer


@dataclass
class TaskData:
    """One task split, tokenised: `a` always, `b` for sentence pairs, labels as floats (NaN when unknown)."""

    task: str
    a: list[Encoded]
    b: list[Encoded] | None
    labels: np.ndarray
    ids: list[str]

    def __len__(self) -> int:
        return len(self.a)

    def lengths(self) -> np.ndarray:
        la = np.array([len(e.input_ids) for e in self.a])
        return la if self.b is None else np.maximum(la, [len(e.input_ids) for e in self.b])


FORMS = ("single", "siamese", "cross")


def tokenize(tokenizer: Tokenizer, df: pd.DataFrame, task: str, form: str) -> TaskData:
    """`form`: "single" (a sentence), "siamese" (a pair, each sentence its own input) or "cross" (a pair in one input)."""
    if form not in FORMS:
        raise ValueError(f"{task}: unknown input form {form!r}; known: {FORMS}")
    if form == "siamese":
        a, b = tokenizer.encode(df["sentence1"].tolist()), tokenizer.encode(df["sentence2"].tolist())
    elif form == "cross":
        a, b = tokenizer.encode(df["sentence1"].tolist(), df["sentence2"].tolist()), None
    else:
        a, b = tokenizer.encode(df["sentence"].tolist()), None
    labels = df["label"].astype("float64").to_numpy(na_value=np.nan)
    return TaskData(task, a, b, labels, df["id"].astype(str).tolist())


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, bucket_batches: int = 50) -> list[np.ndarray]:
    """Shuffle, then sort by length within buckets of `bucket_batches` batches, so each batch pads little."""
    order = rng.permutation(len(lengths))
    span = batch_size * bucket_batches
    batches = []
    for start in range(0, len(order), span):
        chunk = order[start:start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def sequential_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Evaluation order: by length (fast), each batch's indices kept so predictions go back to their rows."""
    order = np.argsort(lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def pad(encs: list[Encoded], width: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input ids, attention mask, token types), each (len(encs), width), padded with `pad_id`."""
    ids = torch.full((len(encs), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(encs), width), dtype=torch.long)
    mask = torch.zeros((len(encs), width), dtype=torch.long)
    for row, e in enumerate(encs):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        types[row, :n] = torch.tensor(e.token_type_ids)
        mask[row, :n] = 1
    return ids, mask, types


def collate(data: TaskData, index: np.ndarray, pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence in the batch; pairs are stacked as 2n rows (a's then b's) for one encoder call."""
    encs = [data.a[i] for i in index] + ([data.b[i] for i in index] if data.b is not None else [])
    ids, mask, types = pad(encs, max(len(e.input_ids) for e in encs), pad_id)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
            "labels": torch.tensor(data.labels[index], dtype=torch.float32)}


class BatchStream:
    """Endless bucketed batches of one task; a fresh shuffle each time the task's data is used up."""

    def __init__(self, data: TaskData, batch_size: int, seed: int):
        self.data, self.batch_size = data, batch_size
        self.rng = np.random.default_rng(seed)
        self.lengths = data.lengths()
        self.passes = 0
        self._queue: list[np.ndarray] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def state(self) -> dict:
        """Where the stream is: its generator, passes so far and the batches left in this pass."""
        return {"rng": self.rng.bit_generator.state, "passes": self.passes, "queue": list(self._queue)}

    def load_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.passes, self._queue = state["passes"], list(state["queue"])

    def __next__(self) -> np.ndarray:
        if not self._queue:
            self._queue = bucketed_batches(self.lengths, self.batch_size, self.rng)
            self.passes += 1
        return self._queue.pop()


def load_task(prepared, tokenizer: Tokenizer, task: str, split: str, form: str, limit: int | None = None, seed: int = 0,
              table: Path | None = None, extra: pd.DataFrame | None = None) -> TaskData:
    """A prepared split (or the given `table`, e.g. augmented training rows) with `extra` rows after it (SST's tree
    phrases), optionally a seeded subset, tokenised."""
    df = load_split(prepared, task, split) if table is None else load_table(table)
    if extra is not None:
        df = pd.concat([df, extra[[c for c in df.columns if c in extra.columns]]], ignore_index=True)
    if limit is not None and limit < len(df):
        df = df.sample(n=limit, random_state=seed).reset_index(drop=True)
    return tokenize(tokenizer, df, task, form)
