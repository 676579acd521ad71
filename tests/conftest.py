"""Shared fixtures: tiny raw files written by the tests themselves, and the offline mirror when present."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_tsv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A CS224N-style tab-separated file, written verbatim (no quoting added)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)] + ["\t".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror named by $MTL_MIRROR; without it real-data tests skip, except in CI where they fail."""
    value = os.environ.get("MTL_MIRROR")
    if not value or not (Path(value) / "cs224n" / "quora-dev.csv").exists():
        message = f"needs the offline mirror: set MTL_MIRROR=../shared/mirror (MTL_MIRROR={value!r})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Path(value).resolve()


class RecordingLive:
    """A stand-in for DVCLive's Live: keeps the last value logged under each name, and the step count."""

    def __init__(self):
        self.metrics: dict[str, float] = {}
        self.steps = 0

    def log_metric(self, name: str, value: float) -> None:
        self.metrics[name] = value

    def next_step(self) -> None:
        self.steps += 1


WORDS = ("the a film movie good bad great awful is was not very fun dull plot actor question how why what can i you "
         "do does learn python java best way to be it and of in on for with this that").split()
TINY_BERT = dict(vocab_size=0, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=128, type_vocab_size=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def write_tiny_checkpoint(directory: Path, seed: int = 0) -> Path:
    """A 2-layer random BERT in hub layout with a small WordPiece vocabulary."""
    import json

    import torch

    from mtbert.model.bert import BertConfig, BertModel
    from mtbert.model.checkpoint import save_pretrained

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?", "!", "'"] + WORDS + ["##s", "##ing", "##ed"]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(seed)
    save_pretrained(BertModel(BertConfig(**dict(TINY_BERT, vocab_size=len(vocab)))), directory)
    (directory / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    return directory


@pytest.fixture
def tiny_checkpoint_dir(tmp_path) -> Path:
    return write_tiny_checkpoint(tmp_path / "tiny-bert")


# the tiny workspace's sentences (words of the tiny vocabulary above, so that they tokenize to known pieces)
SENTENCE_WORDS = "good bad great awful film plot actor fun dull the very not question how why learn python best way".split()


def _sentence(rng) -> str:
    return " ".join(rng.choice(SENTENCE_WORDS, size=rng.integers(2, 8)))


def tiny_workspace(path, mirror):
    """params, profiles, studies, stages and dvc.yaml of this repository; a tiny random BERT in MiniLM's place; ten
    rows per split of every task; a tiny IMDB archive; WordNet from the mirror."""
    for part in ("params.yaml", "dvc.yaml", "reference.json"):
        shutil.copy(ROOT / part, path / part)
    for part in ("profiles", "studies", "stages", "reports"):
        shutil.copytree(ROOT / part, path / part, ignore=shutil.ignore_patterns("*.png"))
    write_tiny_checkpoint(path / "data/raw/models/sentence-transformers/all-MiniLM-L6-v2")
    rng = np.random.default_rng(0)
    n = 12
    for split in ("train", "dev", "test"):
        ids = [f"{split}{i}" for i in range(n)]
        single = lambda labels: pd.DataFrame({"id": ids, "sentence": [_sentence(rng) for _ in ids], "label": labels})  # noqa: E731
        pair = lambda labels: pd.DataFrame({"id": ids, "sentence1": [_sentence(rng) for _ in ids],  # noqa: E731
                                            "sentence2": [_sentence(rng) for _ in ids], "label": labels})
        tables = {"sst": single(rng.integers(0, 5, n)), "cfimdb": single(rng.integers(0, 2, n)),
                  "quora": pair(rng.integers(0, 2, n)), "sts": pair(rng.uniform(0, 5, n).round(2))}
        for task, df in tables.items():
            (path / "data/prepared" / task).mkdir(parents=True, exist_ok=True)
            df.to_csv(path / "data/prepared" / task / f"{split}.csv", index=False)
    archive = path / "data/raw/imdb/aclImdb_v1.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tf:
        for i in range(60):
            folder = ("train/unsup", "train/pos", "train/neg")[i % 3]
            text = ". ".join(_sentence(rng).capitalize() for _ in range(6)).encode()
            info = tarfile.TarInfo(f"aclImdb/{folder}/{i}_0.txt")
            info.size = len(text)
            tf.addfile(info, io.BytesIO(text))
    wordnet = path / "data/raw/nltk_data/corpora/wordnet.zip"
    wordnet.parent.mkdir(parents=True)
    shutil.copy(mirror / "nltk_data" / "corpora" / "wordnet.zip", wordnet)
    return path
