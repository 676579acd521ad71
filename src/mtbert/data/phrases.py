"""SST's labelled phrases: every inner node of a treebank training tree carries a sentiment label of its own, so the
treebank holds far more labelled text than its sentences. Sentence-level evaluation is unchanged; only training rows
are added (`train.sst_phrases`)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from mtbert.data.readers import FormatError, read_utf8

TOKEN = re.compile(r"\(|\)|[^() ]+")  # tokens may hold U+00A0, so split on plain spaces only


def tree_nodes(line: str, where: str = "tree") -> list[tuple[int, str]]:
    """Every node of one PTB tree as (label, its leaves joined by single spaces), children before parents: the root
    is last."""
    stack: list[tuple[int, list[str]]] = []
    nodes: list[tuple[int, str]] = []
    tokens = TOKEN.findall(line)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "(":
            if i + 1 >= len(tokens) or not tokens[i + 1].isdigit():
                raise FormatError(f"{where}: a node without a label at token {i}: {line[:80]!r}")
            stack.append((int(tokens[i + 1]), []))
            i += 2
            continue
        if not stack:
            raise FormatError(f"{where}: text outside the tree at token {i}: {line[:80]!r}")
        if tok == ")":
            label, words = stack.pop()
            nodes.append((label, " ".join(words)))
            if stack:
                stack[-1][1].extend(words)
        else:
            stack[-1][1].append(tok)
        i += 1
    if stack or not nodes:
        raise FormatError(f"{where}: unbalanced tree: {line[:80]!r}")
    return nodes


def phrase_table(trees: Path, exclude: set[str]) -> tuple[pd.DataFrame, dict]:
    """The distinct inner phrases of the trees in `trees` (roots are the sentences themselves) as id, sentence, label,
    words; a phrase written like any text in `exclude` (every split's sentences) is left out, and a phrase labelled
    differently in different trees takes its most frequent label (ties: the one nearest neutral, 2)."""
    labels: dict[str, Counter] = {}
    for n, line in enumerate(read_utf8(trees).splitlines(), start=1):
        for label, text in tree_nodes(line, f"{trees}:{n}")[:-1]:
            labels.setdefault(text, Counter())[label] += 1
    kept = {t: c for t, c in labels.items() if t not in exclude}
    rows = [{"id": "phrase-" + hashlib.sha1(t.encode()).hexdigest()[:20], "sentence": t,
             "label": min(c, key=lambda k: (-c[k], abs(k - 2), k)), "words": t.count(" ") + 1} for t, c in kept.items()]
    summary = {"phrases": len(rows), "left_out_as_sentences": len(labels) - len(kept),
               "conflicting_labels": sum(len(c) > 1 for c in kept.values())}
    return pd.DataFrame(rows, columns=["id", "sentence", "label", "words"]), summary
