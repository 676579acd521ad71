"""From data/raw to clean train/dev/test tables per task, with every quirk, drop and join recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from mtbert.config.data import PrepareConfig, QuoraSplitConfig
from mtbert.data import joins, readers, splits
from mtbert.data.download import available
from mtbert.data.phrases import phrase_table
from mtbert.data.prepared import PHRASES, SPLITS, TASKS, TEXT_COLUMNS
from mtbert.io import atomic_dir, write_json

CS224N = "cs224n"
SUMMARY = "summary.json"


def resplit_name(cfg: QuoraSplitConfig) -> str:
    ratios = "-".join(f"{round(100 * v / sum(cfg.ratios.values()))}" for v in cfg.ratios.values())
    return f"quora-dev-resplit-{ratios}-seed{cfg.seed}"


def _cs224n(raw: Path, name: str) -> Path:
    return raw / "cs224n" / name


def _read(raw: Path, name: str, task: str, logs: list) -> pd.DataFrame:
    label = {"sst": ("sentiment", "class5"), "cfimdb": ("sentiment", "binary"),
             "quora": ("is_duplicate", "binary"), "sts": ("similarity", "score")}[task]
    labelled = "test-student" not in name
    df, log = readers.read_cs224n(_cs224n(raw, name), TEXT_COLUMNS[task], label[0] if labelled else None, label[1])
    logs.append(log)
    return df


CS224N_FILES = {
    "sst": ("ids-sst-train.csv", "ids-sst-dev.csv", "ids-sst-test-student.csv"),
    "sts": ("sts-train.csv", "sts-dev.csv", "sts-test-student.csv"),
    "cfimdb": ("ids-cfimdb-train.csv", "ids-cfimdb-dev.csv", "ids-cfimdb-test-student.csv"),
}

# The public source that labels CS224N's test split (and checks train/dev): its reader and its join.
REFERENCES = {
    "sst": (lambda raw, split: readers.read_sst_trees(raw / "sst" / "trees" / f"{split}.txt"), joins.join_sst_trees),
    "sts": (lambda raw, split: readers.read_stsbenchmark(raw / "stsbenchmark" / "stsbenchmark"), joins.join_stsbenchmark),
    "cfimdb": (lambda raw, split: readers.read_cad(raw / "cfimdb-cad" / "new" / f"{split}.tsv"), joins.join_cfimdb),
}


def prepare_joined(raw: Path, task: str, logs: list, joined: dict) -> dict[str, pd.DataFrame]:
    """A CS224N task whose three splits are each joined to (or checked against) its public reference."""
    read_reference, join = REFERENCES[task]
    out = {}
    for split, name in zip(SPLITS, CS224N_FILES[task]):
        out[split], joined[f"{task}/{split}"] = join(_read(raw, name, task, logs), read_reference(raw, split), name)
    return out


def prepare_quora(raw: Path, cfg: PrepareConfig, logs: list) -> tuple[dict[str, pd.DataFrame], dict]:
    have_train = available(raw, "cs224n/quora-train.csv") and available(raw, "cs224n/quora-test-student.csv")
    use_cs224n = cfg.quora == "cs224n" or (cfg.quora == "auto" and have_train)
    if use_cs224n:
        if not have_train:
            raise FileNotFoundError("data.prepare.quora=cs224n, but quora-train.csv / quora-test-student.csv were not downloaded")
        names = ("quora-train.csv", "quora-dev.csv", "quora-test-student.csv")
        out = {s: _read(raw, n, "quora", logs) for s, n in zip(SPLITS, names)}
        return out, {"split_source": CS224N, "description": "the CS224N default-project Quora splits (test labels hidden)"}
    pairs = _read(raw, "quora-dev.csv", "quora", logs)
    assignment = splits.grouped_split(pairs["sentence1"], pairs["sentence2"], cfg.quora_split.ratios, cfg.quora_split.seed)
    out = {s: pairs[assignment == s].reset_index(drop=True) for s in cfg.quora_split.ratios}
    groups = splits.pair_groups(pairs["sentence1"], pairs["sentence2"])
    provenance = {
        "split_source": resplit_name(cfg.quora_split),
        "description": (
            "OFFLINE re-split of the 20,212 usable labelled pairs of CS224N quora-dev.csv (quora-train.csv is not "
            "available offline); pairs sharing a question text (case/space-insensitive, transitively) stay on one side. "
            "Not comparable with results trained on the full 141k-pair Quora training set."
        ),
        "ratios": cfg.quora_split.ratios,
        "seed": cfg.quora_split.seed,
        "groups": int(groups.max() + 1),
        "largest_group_pairs": int(pd.Series(groups).value_counts().max()),
    }
    return out, provenance


def prepare_all(raw: Path, out_dir: Path, cfg: PrepareConfig) -> dict:
    """Write data/prepared/<task>/<split>.csv and a summary of every read, drop, join and split."""
    logs: list[readers.ReadLog] = []
    joined: dict[str, dict] = {}
    tables = {task: prepare_joined(raw, task, logs, joined) for task in ("sst", "sts", "cfimdb")}
    tables["quora"], quora_provenance = prepare_quora(raw, cfg, logs)
    split_source = {"sst": CS224N, "sts": CS224N, "cfimdb": CS224N, "quora": quora_provenance["split_source"]}
    # SST's inner tree phrases from the training trees: extra training rows (train.sst_phrases), never evaluated on
    phrases, phrase_summary = phrase_table(raw / "sst" / "trees" / "train.txt",
                                           {s for df in tables["sst"].values() for s in df["sentence"]})
    with atomic_dir(out_dir) as staging:
        for task in TASKS:
            for split, df in tables[task].items():
                df = df.assign(split=split, split_source=split_source[task])
                path = staging / task / f"{split}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                df.to_csv(path, index=False)
        phrases.assign(split="train", split_source="sst-train-tree-phrases").to_csv(staging / "sst" / PHRASES, index=False)
        summary = {
            "split_source": split_source,
            "sst_phrases": phrase_summary,
            "quora": quora_provenance,
            "reads": [dataclasses.asdict(log) | {"quirks": dict(log.quirks)} for log in logs],
            "joins": joined,
        }
        write_json(staging / SUMMARY, summary)
    return summary
