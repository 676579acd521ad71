"""Content checks that recognise a downloaded input when no published checksum can vouch for it."""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd


class ContentError(ValueError):
    """A downloaded file whose content is not what the study expects."""


def tsv_table(rows: int | None, columns: tuple[str, ...], index_col: int | None = 0) -> Callable[[Path], str]:
    """A tab-separated table with at least `columns` and exactly `rows` data rows (None: any)."""

    def check(path: Path) -> str:
        try:
            df = pd.read_csv(path, sep="\t", index_col=index_col, dtype=str, keep_default_na=False)
        except Exception as err:  # pandas raises several parser error types
            raise ContentError(f"{path}: not a readable tab-separated table ({err})") from err
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ContentError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
        if rows is not None and len(df) != rows:
            raise ContentError(f"{path}: expected {rows} data rows, found {len(df)}")
        return f"{len(df)} rows, columns {list(df.columns)}"

    return check


def _read_members(path: Path, names: list[str]) -> dict[str, bytes]:
    """The named members of a zip or tar archive (absent names are left out)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            present = set(zf.namelist())
            return {n: zf.read(n) for n in names if n in present}
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            found = {}
            for member in tf:
                if member.name in names and member.isfile():
                    found[member.name] = tf.extractfile(member).read()
            return found
    raise ContentError(f"{path}: neither a zip nor a tar archive")


def archive_lines(expected: dict[str, int]) -> Callable[[Path], str]:
    """An archive holding each named member with exactly the given number of lines."""

    def check(path: Path) -> str:
        members = _read_members(path, list(expected))
        for name, lines in expected.items():
            if name not in members:
                raise ContentError(f"{path}: archive lacks member '{name}'")
            found = members[name].decode("utf-8").count("\n")
            if found != lines:
                raise ContentError(f"{path}: member '{name}' has {found} lines, expected {lines}")
        return ", ".join(f"{n}: {c} lines" for n, c in expected.items())

    return check


IMDB_COUNTS = {"train/pos": 12500, "train/neg": 12500, "train/unsup": 50000, "test/pos": 12500, "test/neg": 12500}
IMDB_REVIEW = re.compile(r"^aclImdb/(train|test)/(pos|neg|unsup)/\d+_\d+\.txt$")


def imdb_reviews(path: Path) -> str:
    """aclImdb v1: 25k train, 25k test and 50k unlabelled reviews named <id>_<rating>.txt."""
    counts: Counter[str] = Counter()
    try:
        with tarfile.open(path, "r:*") as tf:
            for member in tf:  # streaming: never materialise 100k members
                m = IMDB_REVIEW.match(member.name)
                if m and member.isfile():
                    counts[f"{m.group(1)}/{m.group(2)}"] += 1
    except tarfile.TarError as err:
        raise ContentError(f"{path}: not a readable tar archive ({err})") from err
    if dict(counts) != IMDB_COUNTS:
        raise ContentError(f"{path}: review counts {dict(counts)}, expected {IMDB_COUNTS}")
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


WORDNET_MEMBERS = [f"wordnet/{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")]


def wordnet_zip(path: Path) -> str:
    """nltk's corpora/wordnet.zip layout: the data and index files of all four parts of speech and lexnames."""
    if not zipfile.is_zipfile(path):
        raise ContentError(f"{path}: not a zip archive")
    names = set(zipfile.ZipFile(path).namelist())
    missing = [n for n in WORDNET_MEMBERS + ["wordnet/lexnames"] if n not in names]
    if missing:
        raise ContentError(f"{path}: wordnet archive lacks {missing}")
    return f"{len(names)} members incl. data/index for noun, verb, adj, adv"


BERT_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")


def json_object(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ContentError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(obj, dict):
        raise ContentError(f"{path}: expected a JSON object")
    return obj


def bert_config(path: Path) -> str:
    cfg = json_object(path)
    missing = [k for k in BERT_CONFIG_KEYS if k not in cfg]
    if missing or cfg.get("model_type", "bert") != "bert":
        raise ContentError(f"{path}: not a BERT config (model_type={cfg.get('model_type')!r}, missing {missing})")
    return ", ".join(f"{k}={cfg[k]}" for k in BERT_CONFIG_KEYS)


def bert_vocab(path: Path) -> str:
    cfg = json_object(path.with_name("config.json"))
    tokens = path.read_text(encoding="utf-8").splitlines()
    if len(tokens) != cfg["vocab_size"]:
        raise ContentError(f"{path}: {len(tokens)} tokens, config.json says vocab_size={cfg['vocab_size']}")
    missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t not in tokens]
    if missing:
        raise ContentError(f"{path}: special tokens {missing} not in vocabulary")
    return f"{len(tokens)} WordPiece tokens"


def bert_weights(path: Path) -> str:
    from safetensors import safe_open

    cfg = json_object(path.with_name("config.json"))
    try:
        with safe_open(str(path), framework="numpy") as f:
            shapes = {k.removeprefix("bert."): tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error types for a bad header
        raise ContentError(f"{path}: not a readable safetensors file ({err})") from err
    want = (cfg["vocab_size"], cfg["hidden_size"])
    got = shapes.get("embeddings.word_embeddings.weight")
    if got != want:
        raise ContentError(f"{path}: embeddings.word_embeddings.weight has shape {got}, expected {want}")
    layers = {int(m.group(1)) for k in shapes if (m := re.match(r"encoder\.layer\.(\d+)\.", k))}
    if len(layers) != cfg["num_hidden_layers"]:
        raise ContentError(f"{path}: {len(layers)} encoder layers, config says {cfg['num_hidden_layers']}")
    return f"{len(shapes)} tensors, {len(layers)} layers"
