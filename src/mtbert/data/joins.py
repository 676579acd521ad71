"""Label joins for the CS224N test files, each asserting row by row that it joined the right sentence."""

from __future__ import annotations

import re

import pandas as pd


class LabelJoinError(ValueError):
    """A join whose two sides disagree on the sentence (or on a label both sides carry)."""


def join_sst_trees(df: pd.DataFrame, trees: list[tuple[int, str]], file: str) -> tuple[pd.DataFrame, dict]:
    """Row i of a CS224N SST file is tree i: check the leaves, then take (or check) the root label."""
    if len(df) != len(trees):
        raise LabelJoinError(f"{file}: {len(df)} rows but {len(trees)} trees")
    out = df.copy()
    had_labels = out["label"].notna().all()
    for i, (row, (root, leaves)) in enumerate(zip(out.itertuples(), trees)):
        if row.sentence != leaves:
            raise LabelJoinError(f"{file} row {i} (id {row.id}): sentence {row.sentence!r} != tree leaves {leaves!r}")
        if had_labels and row.label != root:
            raise LabelJoinError(f"{file} row {i} (id {row.id}): label {row.label} != tree root label {root}")
    out["label"] = pd.array([root for root, _ in trees], dtype="Int64")
    return out, {"rows": len(out), "sentence_matches": len(out), "labels": "checked against trees" if had_labels else "joined from trees"}


def join_stsbenchmark(df: pd.DataFrame, stsb: pd.DataFrame, file: str) -> tuple[pd.DataFrame, dict]:
    """CS224N's STS index is the row number in official STS-B train+dev+test; check both sentences, then join."""
    out = df.copy()
    had_labels = out["label"].notna().all()
    scores = []
    for i, row in enumerate(out.itertuples()):
        if not 0 <= row.orig_index < len(stsb):
            raise LabelJoinError(f"{file} row {i} (id {row.id}): index {row.orig_index} outside STS-B's {len(stsb)} rows")
        ref = stsb.iloc[row.orig_index]
        if (row.sentence1, row.sentence2) != (ref.sentence1, ref.sentence2):
            raise LabelJoinError(
                f"{file} row {i} (id {row.id}): sentences {(row.sentence1, row.sentence2)!r} != "
                f"STS-B row {row.orig_index} {(ref.sentence1, ref.sentence2)!r}"
            )
        if had_labels and abs(row.label - ref.score) > 1e-6:
            raise LabelJoinError(f"{file} row {i} (id {row.id}): similarity {row.label} != STS-B score {ref.score}")
        scores.append(ref.score)
    out["label"] = pd.array(scores, dtype="float64")
    splits = stsb.iloc[out["orig_index"]]["official_split"].value_counts().to_dict()
    return out, {"rows": len(out), "sentence_matches": len(out), "official_splits": splits,
                 "labels": "checked against STS-B" if had_labels else "joined from STS-B"}


def normalise_review(text: str) -> str:
    """CS224N re-tokenised the reviews; comparing lower-cased letters and digits only undoes that."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def join_cfimdb(df: pd.DataFrame, cad: pd.DataFrame, file: str) -> tuple[pd.DataFrame, dict]:
    """Match reviews to the counterfactual IMDB set by normalised text; unmatched rows keep no label."""
    lookup: dict[str, set[int]] = {}
    for label, text in zip(cad["label"], cad["text"]):
        lookup.setdefault(normalise_review(text), set()).add(int(label))
    out = df.copy()
    had_labels = out["label"].notna().all()
    joined: list[int | None] = []
    ambiguous = matched = 0
    for i, row in enumerate(out.itertuples()):
        found = lookup.get(normalise_review(row.sentence), set())
        if len(found) > 1:
            ambiguous += 1
        label = next(iter(found)) if len(found) == 1 else None
        matched += label is not None
        if had_labels and label is not None and label != row.label:
            raise LabelJoinError(f"{file} row {i} (id {row.id}): label {row.label} != counterfactual-IMDB label {label}")
        joined.append(row.label if had_labels else label)
    out["label"] = pd.array(joined, dtype="Int64")
    return out, {"rows": len(out), "matched": matched, "match_rate": round(matched / max(len(out), 1), 4), "ambiguous": ambiguous}
