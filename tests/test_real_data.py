"""Download and prepare on the real inputs from the offline mirror (skipped without $MTL_MIRROR)."""

import pytest

from mtbert.config.data import PrepareConfig
from mtbert.data import card
from mtbert.data.download import download_all
from mtbert.data.prepare import prepare_all
from mtbert.data.prepared import load_split
from mtbert.data.sources import SOURCES, resolve
from mtbert.data.splits import question_key

EXPECTED = {"sst": (8544, 1101, 2210), "sts": (6040, 863, 1725), "cfimdb": (1707, 245, 488)}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, request):
    mirror = request.getfixturevalue("mirror")
    root = tmp_path_factory.mktemp("real")
    manifest = download_all(resolve(list(SOURCES), "sentence-transformers/all-MiniLM-L6-v2", "main"), root / "raw", mirror)
    summary = prepare_all(root / "raw", root / "prepared", PrepareConfig())
    return root, manifest, summary


def test_every_required_input_is_verified(prepared):
    _, manifest, _ = prepared
    files = {f["path"]: f for f in manifest["files"]}
    assert all(f["verified_by"] for f in files.values() if f["status"] == "ok")
    assert {p for p, f in files.items() if f["status"] != "ok"} == {"cs224n/quora-train.csv", "cs224n/quora-test-student.csv"}
    assert files["imdb/aclImdb_v1.tar.gz"]["content"].startswith("test/neg: 12500")


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_split_sizes_and_labels_on_all_three_splits(prepared, task):
    root, _, _ = prepared
    for split, n in zip(("train", "dev", "test"), EXPECTED[task]):
        df = load_split(root / "prepared", task, split)
        assert len(df) == n
        assert df["label"].notna().all()
        assert (df["split_source"] == "cs224n").all()


def test_quora_offline_split_covers_all_pairs_without_shared_questions(prepared):
    root, _, summary = prepared
    tables = {s: load_split(root / "prepared", "quora", s) for s in ("train", "dev", "test")}
    assert sum(len(t) for t in tables.values()) == 20212
    questions = {s: set(map(question_key, t["sentence1"])) | set(map(question_key, t["sentence2"])) for s, t in tables.items()}
    assert not questions["train"] & questions["dev"]
    assert not questions["train"] & questions["test"]
    assert not questions["dev"] & questions["test"]
    assert all((t["split_source"] == summary["quora"]["split_source"]).all() for t in tables.values())
    assert summary["quora"]["split_source"].startswith("quora-dev-resplit")
    drops = [d for r in summary["reads"] if r["file"] == "quora-dev.csv" for d in r["dropped"]]
    assert len(drops) == 2


def test_data_card_prints_every_count(prepared):
    root, _, summary = prepared
    text = card.render(root / "prepared", summary)
    for row in ("| SST-5 sentiment | cs224n | 8544 | 1101 | 2210 |", "| STS similarity | cs224n | 6040 | 863 | 1725 |"):
        assert row in text
    quora_row = next(line for line in text.splitlines() if line.startswith("| Quora paraphrase"))
    assert sum(int(c) for c in quora_row.strip("|").split("|")[2:]) == 20212
    assert "OFFLINE re-split" in text
