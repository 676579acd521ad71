"""A trained multitask checkpoint as a Python object: load it once, then score sentences (SST) or pairs (Quora, STS).

    p = Predictor.load("models/finetuned")
    p.sst(["A gorgeous, witty film.", "Dull."])            # label 0-4 and the five class probabilities
    p.quora([("How do I learn Python?", "What is the best way to learn Python?")])  # probability, label
    p.sts([("A man plays a guitar.", "A man is playing the guitar.")])               # similarity on 0-5
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mtbert.config import section
from mtbert.config.model import ModelConfig
from mtbert.data.batching import tokenize
from mtbert.eval.predict import outputs, readable
from mtbert.model.multitask import TASK_SPECS, MultitaskModel, load_multitask
from mtbert.text.tokenizer import Tokenizer

DEFAULT_CHECKPOINT = Path("models/finetuned")
CHECKPOINT_FILES = ("run.json", "config.json", "model.safetensors", "vocab.txt")  # what save_multitask writes
SENTENCE_TASKS = ("sst", "cfimdb")


class NotACheckpoint(ValueError):
    """A directory that is not a trained multitask checkpoint."""


def sentence_columns(task: str) -> list[str]:
    """The input columns a task reads: one sentence, or a pair."""
    if task not in TASK_SPECS:
        raise ValueError(f"unknown task {task!r}; tasks: {sorted(TASK_SPECS)}")
    return ["sentence1", "sentence2"] if TASK_SPECS[task].pair else ["sentence"]


@dataclass
class Predictor:
    model: MultitaskModel
    tokenizer: Tokenizer
    tasks: list[str]
    device: torch.device
    batch_size: int = 64

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_CHECKPOINT, device: str | None = None,
             batch_size: int = 64) -> "Predictor":
        """A checkpoint written by the finetune stage (safetensors weights only: nothing is unpickled)."""
        directory = Path(directory)
        if not directory.is_dir():
            raise NotACheckpoint(f"{directory}: no such directory (train one with `dvc repro`, or pass --checkpoint)")
        missing = [f for f in CHECKPOINT_FILES if not (directory / f).exists()]
        if missing:
            raise NotACheckpoint(f"{directory}: not a trained mtbert checkpoint: missing {missing} (it needs "
                                 f"{list(CHECKPOINT_FILES)}, as `stages/finetune.py` writes them)")
        try:
            run = json.loads((directory / "run.json").read_text())
            mcfg = section(run, "model", ModelConfig, source=str(directory / "run.json"))
            tasks = list(run["train"]["tasks"])
        except (KeyError, TypeError, ValueError) as err:
            raise NotACheckpoint(f"{directory / 'run.json'}: not a finetune run record ({err})") from None
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model = load_multitask(directory, mcfg, tasks).to(dev).eval()
        return cls(model, Tokenizer.from_checkpoint(directory, mcfg.max_length), tasks, dev, batch_size)

    def predict(self, task: str, rows: pd.DataFrame,
                progress: Callable[[Iterable], Iterable] | None = None) -> pd.DataFrame:
        """`rows` with the task's input columns (`sentence`, or `sentence1` and `sentence2`); returns them with the
        prediction columns added, in the input order. Batches go shortest first (little padding)."""
        if task not in self.tasks:
            raise ValueError(f"this checkpoint has no {task!r} head; it was trained on {self.tasks}")
        columns = sentence_columns(task)
        absent = [c for c in columns if c not in rows.columns]
        if absent:
            raise ValueError(f"{task} needs the columns {columns}; missing {absent}")
        frame = rows[columns].assign(label=np.nan, id=[str(i) for i in range(len(rows))])
        data = tokenize(self.tokenizer, frame, task, self.model.input_form(task))
        out = outputs(self.model, data, self.batch_size, self.tokenizer.pad_id, self.device, progress)
        return rows.reset_index(drop=True).assign(**readable(task, out))

    def sst(self, sentences: Sequence[str]) -> pd.DataFrame:
        return self.predict("sst", pd.DataFrame({"sentence": list(sentences)}))

    def quora(self, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
        return self.predict("quora", _pairs(pairs))

    def sts(self, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
        return self.predict("sts", _pairs(pairs))


def _pairs(pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(list(pairs), columns=["sentence1", "sentence2"])
