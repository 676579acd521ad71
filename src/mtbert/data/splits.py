"""Deterministic grouped split of question pairs: no question text appears on two sides."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd


def question_key(text: str) -> str:
    """Case and spacing are not a different question."""
    return re.sub(r"\s+", " ", text.strip().lower())


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # order-independent roots keep the result deterministic


def pair_groups(s1: pd.Series, s2: pd.Series) -> np.ndarray:
    """Group id per pair: pairs sharing a question (transitively) share a group."""
    uf = UnionFind()
    k1 = [question_key(t) for t in s1]
    k2 = [question_key(t) for t in s2]
    for a, b in zip(k1, k2):
        uf.union(a, b)
    roots = [uf.find(a) for a in k1]
    _, ids = np.unique(np.array(roots, dtype=object), return_inverse=True)
    return ids


def grouped_split(s1: pd.Series, s2: pd.Series, ratios: dict[str, float], seed: int) -> pd.Series:
    """Assign each pair a split name, whole groups at a time, filling each split towards its ratio.

    Groups are visited in a seeded random order and each goes to the split furthest below its target size,
    so the result depends only on the texts, the ratios and the seed.
    """
    total = sum(ratios.values())
    if not ratios or total <= 0 or any(r < 0 for r in ratios.values()):
        raise ValueError(f"split ratios must be non-negative and sum to more than 0, got {ratios}")
    names = list(ratios)
    target = np.array([ratios[n] / total for n in names]) * len(s1)
    groups = pair_groups(s1, s2)
    sizes = np.bincount(groups)
    order = np.random.default_rng(seed).permutation(len(sizes))
    filled = np.zeros(len(names))
    assignment = np.empty(len(sizes), dtype=int)
    for g in order:
        k = int(np.argmax(target - filled))
        assignment[g] = k
        filled[k] += sizes[g]
    return pd.Series([names[k] for k in assignment[groups]], index=s1.index, name="split")
