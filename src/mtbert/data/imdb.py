"""IMDB reviews (aclImdb v1) streamed from the downloaded archive, by split."""

from __future__ import annotations

import tarfile
from pathlib import Path

from tqdm import tqdm

from mtbert.data.contents import IMDB_REVIEW

# params name -> the archive folders it covers
SPLITS = {"unsup": ("train/unsup",), "train": ("train/pos", "train/neg"), "test": ("test/pos", "test/neg")}


def read_reviews(archive: Path, splits: list[str]) -> list[tuple[str, str]]:
    """(review id "<folder>/<file id>", text) of every review in `splits`, in archive order."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f"pretrain_mlm.splits: unknown {unknown}; known: {sorted(SPLITS)}")
    folders = {f for s in splits for f in SPLITS[s]}
    reviews = []
    with tarfile.open(archive, "r:*") as tf:
        for member in tqdm(tf, desc=f"reading {archive.name}", unit=" files", mininterval=5):
            m = IMDB_REVIEW.match(member.name)
            if m and f"{m.group(1)}/{m.group(2)}" in folders:
                text = tf.extractfile(member).read().decode("utf-8", errors="replace")
                reviews.append((f"{m.group(1)}/{m.group(2)}/{Path(member.name).stem}", text))
    return reviews
