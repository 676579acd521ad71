"""Registry of the study's public inputs: canonical URL, accepted checksums, and how to recognise the content.

Each file's `path` is both where it lands under `data/raw/` and where it sits in an offline mirror
(`$MTL_MIRROR/<path>`), so a mirror is simply a copy of the raw-data tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtbert.data import contents

CS224N_URL = (
    "https://raw.githubusercontent.com/gpoesia/minbert-default-final-project/"
    "7ac8260577fc12a86c7aaf38918056c30054ef39/data/{name}"
)
CAD_URL = (
    "https://raw.githubusercontent.com/acmi-lab/counterfactually-augmented-data/"
    "6f232a1d2a11462a30ce08fb4825b734ab30828e/sentiment/{name}"
)
HUB_URL = "https://huggingface.co/{repo}/resolve/{revision}/{name}"


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file and everything needed to trust it."""

    path: str
    url: str
    sha256: tuple[str, ...] = ()  # checksums of the file as published at `url`
    md5: str | None = None  # published md5, where that is all the publisher gives
    mirror_sha256: str | None = None  # the offline mirror's rebuilt copy, when it differs from the published file
    check: Callable[[Path], str] | None = None  # content verification; returns a one-line summary
    extract: bool = False  # unpack next to the archive
    required: bool = True  # optional files (online-only) may be unavailable

    @property
    def canonical_hash_known(self) -> bool:
        return bool(self.sha256 or self.md5)


def _cs224n(name: str, sha256: str | None, rows: int | None, columns: tuple[str, ...], required: bool = True) -> RemoteFile:
    # The CS224N files in the mirror are the repository's own files, so their checksum is the canonical one.
    return RemoteFile(
        path=f"cs224n/{name}",
        url=CS224N_URL.format(name=name),
        sha256=(sha256,) if sha256 else (),
        check=contents.tsv_table(rows, columns),
        required=required,
    )


SOURCES: dict[str, tuple[RemoteFile, ...]] = {
    "cs224n": (
        _cs224n("ids-sst-train.csv", "03b2b625c090f94a6afd59f114cde5282e2053aab0b101e87ed695d8a0c5b1df", 8544, ("id", "sentence", "sentiment")),
        _cs224n("ids-sst-dev.csv", "a186ce94577635fbe10beaaddd50f16cccf6c30973221cefdf90deed2a584bfe", 1101, ("id", "sentence", "sentiment")),
        _cs224n("ids-sst-test-student.csv", "bdd5a767faa0c26782117e37767ece154c30d5d04fb8727d09c71e3850a55c7b", 2210, ("id", "sentence")),
        _cs224n("quora-dev.csv", "bfa3cc954a9ba300ae776a980141de65f622a3c1b97e3fd905d63245bc36d5ad", 20214, ("id", "sentence1", "sentence2", "is_duplicate")),
        _cs224n("quora-train.csv", None, 141506, ("id", "sentence1", "sentence2", "is_duplicate"), required=False),
        _cs224n("quora-test-student.csv", None, None, ("id", "sentence1", "sentence2"), required=False),
        _cs224n("sts-train.csv", "15d12efc2d656fffb1d61ac1f08ec4227f43925fd16f420c037cbd063699c21b", 6040, ("id", "sentence1", "sentence2", "similarity")),
        _cs224n("sts-dev.csv", "ce3cad6f16062586ac7ba462c28b010a9be10c530fd5074165860d7b7ab4e93d", 863, ("id", "sentence1", "sentence2", "similarity")),
        _cs224n("sts-test-student.csv", "dee455745b72e9ca3ff74e7c056bd73e34bad5b8d5641045a2c1e7e131866f47", 1725, ("id", "sentence1", "sentence2")),
        _cs224n("ids-cfimdb-train.csv", "140fc513045a966109faed46a5c7a898767b96714d71bcb9c15f659129fadcea", 1707, ("id", "sentence", "sentiment")),
        _cs224n("ids-cfimdb-dev.csv", "3087f571b66860fe5d035b5a018d08202ad3fd3720e4821c04b2acf6c7ded559", 245, ("id", "sentence", "sentiment")),
        _cs224n("ids-cfimdb-test-student.csv", "7ae611548c9eac879e9ebb406cc9f8ae68ff12f78090e4965af5cbdfa06240f4", 488, ("id", "sentence")),
    ),
    "sst_trees": (
        RemoteFile(
            path="sst/trainDevTestTrees_PTB.zip",
            url="https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip",
            mirror_sha256="38cb965333e09cc028f59713ce18ea7ac2ef151a3aa3e9f91c25d923c5ccce9a",
            check=contents.archive_lines({"trees/train.txt": 8544, "trees/dev.txt": 1101, "trees/test.txt": 2210}),
            extract=True,
        ),
    ),
    "stsbenchmark": (
        RemoteFile(
            path="stsbenchmark/Stsbenchmark.tar.gz",
            url="http://ixa2.si.ehu.eus/stswiki/images/4/48/Stsbenchmark.tar.gz",
            mirror_sha256="1dc94c1bb2228960d03977f80ffc39288b37cfca01877b9824d115d535c5e3a1",
            check=contents.archive_lines(
                {"stsbenchmark/sts-train.csv": 5749, "stsbenchmark/sts-dev.csv": 1500, "stsbenchmark/sts-test.csv": 1379}
            ),
            extract=True,
        ),
    ),
    # Kept packed: 100k small review files would dominate DVC's hashing time; pretraining streams the archive.
    "imdb": (
        RemoteFile(
            path="imdb/aclImdb_v1.tar.gz",
            url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
            md5="7c2ac02c03563afcf9b574c7e56c153a",
            mirror_sha256="a3bb2208bdc4154c984c771622ac18e34a5d931fa63c77ce38c6b1a3d5dd6456",
            check=contents.imdb_reviews,
        ),
    ),
    # Kept packed: nltk reads corpora/wordnet.zip directly through NLTK_DATA.
    "wordnet": (
        RemoteFile(
            path="nltk_data/corpora/wordnet.zip",
            url="https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/wordnet.zip",
            mirror_sha256="fbb1ce740a6569582a7206368d3df18ab1c34dbabc0a6a3363091664b52163d3",
            check=contents.wordnet_zip,
        ),
    ),
    "cfimdb_cad": tuple(
        RemoteFile(
            path=f"cfimdb-cad/new/{split}.tsv",
            url=CAD_URL.format(name=f"new/{split}.tsv"),
            sha256=(sha,),
            check=contents.tsv_table(rows, ("Sentiment", "Text"), index_col=None),
        )
        for split, sha, rows in (
            ("train", "c9f65a2425e9aa358082040961d9d0e215fb8631b85242cbb410b82f9c62c0d4", 1707),
            ("dev", "69f559bfbf9eb2e0545d2d2f14482a699ec81f94e2bca110e4fa15670fdf78e6", 245),
            ("test", "28d32ca405131d87ef095109cc1764d6e917a3df63584b2f16e9465020b7f29d", 488),
        )
    ),
}

# Published sha256 of hub checkpoints we know; any other BERT checkpoint is verified by content.
KNOWN_CHECKPOINTS: dict[str, dict[str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": {
        "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    },
}

CHECKPOINT_FILES: tuple[tuple[str, Callable[[Path], str], bool], ...] = (
    ("config.json", contents.bert_config, True),
    ("vocab.txt", contents.bert_vocab, True),
    ("model.safetensors", contents.bert_weights, True),
    ("tokenizer_config.json", contents.json_object, False),
)


def checkpoint_dir(repo_id: str) -> str:
    """Relative path of a hub checkpoint under data/raw (and under the mirror)."""
    return f"models/{repo_id}"


def checkpoint_files(repo_id: str, revision: str = "main") -> tuple[RemoteFile, ...]:
    """The hub-layout files of a BERT checkpoint, in an order where config.json comes first."""
    known = KNOWN_CHECKPOINTS.get(repo_id, {})
    return tuple(
        RemoteFile(
            path=f"{checkpoint_dir(repo_id)}/{name}",
            url=HUB_URL.format(repo=repo_id, revision=revision, name=name),
            sha256=(known[name],) if name in known else (),
            check=check,
            required=required,
        )
        for name, check, required in CHECKPOINT_FILES
    )


def resolve(source_keys: list[str], checkpoint: str, revision: str) -> list[RemoteFile]:
    """All files for the chosen sources plus the checkpoint; unknown source names fail with the known ones."""
    unknown = [k for k in source_keys if k not in SOURCES]
    if unknown:
        raise KeyError(f"unknown data source(s) {unknown}; known: {sorted(SOURCES)}")
    files = [f for key in source_keys for f in SOURCES[key]]
    return files + list(checkpoint_files(checkpoint, revision))
