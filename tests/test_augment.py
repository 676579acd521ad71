import random
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from mtbert.config.augment import AugmentConfig
from mtbert.data.augment import (Synonyms, augment, augment_sentence, random_delete, random_swap, synonym_replace,
                                 wordnet_from)
from mtbert.report.augment import render
from mtbert.text.pos import ContextPOS
from mtbert.train.setup import train_table

SENTENCE = "the movie is a good and funny film , with great acting and a clever plot ."


@pytest.fixture(scope="module")
def wordnet_zip(mirror) -> Path:
    return mirror / "nltk_data" / "corpora" / "wordnet.zip"


@pytest.fixture(scope="module")
def synonyms(wordnet_zip):
    with wordnet_from(wordnet_zip) as wn:
        yield Synonyms(wn)


@pytest.fixture(scope="module")
def wordnet(wordnet_zip):
    with wordnet_from(wordnet_zip) as wn:
        yield wn


@pytest.fixture(scope="module")
def tagger(wordnet):
    return ContextPOS(wordnet).fit(seed=0)


def test_the_context_tagger_learns_parts_of_speech_from_wordnets_examples(tagger):
    assert tagger.accuracy > 0.9  # held out from its own training examples
    assert tagger.tag("they play the game well".split())[1] == "v"
    assert tagger.tag("a fun play with a clever plot".split())[2] == "n"
    assert tagger.tag("it was an awful film".split())[3:] == ["a", "n"]
    assert tagger.tag(["xqzzy"]) == [None]  # not in WordNet


@pytest.mark.parametrize("sentence,word,wrong", [
    ("the movie was awful", "awful", {"amazing", "awesome", "awe-inspiring", "awing"}),
    ("a terrible plot", "terrible", {"tremendous"}),
    ("a great cast", "great", {"with child", "expectant", "enceinte", "gravid", "large", "big"}),
])
def test_first_senses_keep_the_meaning_that_all_senses_lose(wordnet, tagger, sentence, word, wrong):
    words = sentence.split()
    pos = tagger.tag(words)[words.index(word)]
    first = set(Synonyms(wordnet, "first")(word, pos))
    every = set(Synonyms(wordnet, "all")(word, pos))
    assert not first & wrong and every & wrong  # EDA's original offers the wrong ones; the first sense never does
    assert first == {lemma.name().replace("_", " ").lower() for lemma in wordnet.synsets(word, pos)[0].lemmas()} - {word}


def test_first_sense_replacements_in_a_sentence_come_from_the_tagged_first_sense(wordnet, tagger):
    synonyms = Synonyms(wordnet, "first")
    words = "the acting was awful and the plot was terrible".split()
    for seed in range(10):
        changes: list = []
        augment_sentence(" ".join(words), AugmentConfig(synonym_rate=0.5), synonyms, random.Random(seed), Counter(),
                         tagger, changes)
        tags = tagger.tag(words)
        for i, old, new in changes:
            assert new in {lemma.name().replace("_", " ").lower() for lemma in wordnet.synsets(old, tags[i])[0].lemmas()}


def test_synonym_replacement_changes_only_the_chosen_words_to_real_synonyms(synonyms):
    words = SENTENCE.split()
    for seed in range(20):
        out, changes = synonym_replace(words, 3, synonyms, random.Random(seed))
        assert len(changes) == 3 and len(out) == len(words)
        changed = {i for i, _, _ in changes}
        assert all(out[i] == w for i, w in enumerate(words) if i not in changed)
        for i, old, new in changes:
            assert old == words[i] and new == out[i] and new != old
            lemmas = {lemma.name().replace("_", " ").lower() for s in synonyms.wn.synsets(old) for lemma in s.lemmas()}
            assert new in lemmas  # a real WordNet synonym of the word it replaced
            assert old not in {"the", "is", "a", "and", "with", ",", "."}


def test_synonym_lookup_skips_stop_words_and_punctuation(synonyms):
    assert synonyms("the") == () and synonyms(",") == () and synonyms("is") == ()
    assert "movie" in synonyms("film") and "film" not in synonyms("film")


def test_augmentation_is_deterministic_under_the_seed(synonyms):
    cfg = AugmentConfig(synonym_rate=0.2, insert_rate=0.1, swap_rate=0.1, delete_rate=0.1)
    runs = [augment_sentence(SENTENCE, cfg, synonyms, random.Random("0:sst:x:1"), Counter()) for _ in range(2)]
    other = augment_sentence(SENTENCE, cfg, synonyms, random.Random("1:sst:x:1"), Counter())
    assert runs[0] == runs[1] != SENTENCE and other != runs[0]


def test_swap_and_delete_keep_the_words_they_should():
    words = "a b c d e f".split()
    swapped = random_swap(words, 2, random.Random(0))
    assert sorted(swapped) == words and swapped != words
    deleted = [random_delete(words, 0.5, random.Random(s)) for s in range(200)]
    assert 0.4 < 1 - sum(map(len, deleted)) / (6 * 200) < 0.6
    assert all(d and all(w in words for w in d) for d in deleted)  # never empty, never new words
    assert random_delete(["x"], 1.0, random.Random(0)) == ["x"]


def _prepared(root: Path) -> Path:
    sst = pd.DataFrame({"id": ["a", "b"], "sentence": ["a good film", "a dull plot"], "label": [4, 0]})
    sts = pd.DataFrame({"id": ["p"], "sentence1": ["a good film"], "sentence2": ["a great movie"], "label": [4.5]})
    for task, df in (("sst", sst), ("sts", sts)):
        (root / task).mkdir(parents=True)
        for split in ("train", "dev", "test"):
            df.assign(split=split).to_csv(root / task / f"{split}.csv", index=False)
    return root


def test_augmentation_writes_training_tables_only_and_keeps_the_originals(tmp_path, wordnet_zip, tagger):
    prepared = _prepared(tmp_path / "prepared")
    before = {p: p.read_bytes() for p in prepared.rglob("*.csv")}
    out = tmp_path / "augmented"
    summary = augment(prepared, wordnet_zip, out, AugmentConfig(tasks=["sst", "sts"], copies=2, synonym_rate=0.5),
                      tagger=tagger)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv")) == ["sst/train.csv", "sts/train.csv"]
    assert {p: p.read_bytes() for p in prepared.rglob("*.csv")} == before  # dev and test (and train) untouched
    sst = pd.read_csv(out / "sst" / "train.csv")
    assert sst["id"].tolist() == ["a", "b", "a~aug1", "b~aug1", "a~aug2", "b~aug2"]
    assert sst["label"].tolist() == [4, 0, 4, 0, 4, 0]
    assert summary["tasks"]["sst"]["augmented_rows"] == 4
    assert 0 < len(summary["tasks"]["sst"]["samples"]) <= 20 and summary["pos_tagger"]["heldout_accuracy"] > 0.9
    page = render(summary)
    assert "## sst" in page and "most frequent WordNet sense" in page
    assert all(f"{old} → {new}" in page for s in summary["tasks"]["sst"]["samples"] for old, new in s["replaced"])
    sts = pd.read_csv(out / "sts" / "train.csv")
    for row in sts.iloc[1:].itertuples():  # one side changed, the other kept
        assert (row.sentence1 == "a good film") != (row.sentence2 == "a great movie")
    # finetune takes augmented training tables only; dev has no augmented table to take
    assert train_table("sst", out) == out / "sst" / "train.csv" and train_table("quora", out) is None
    assert not (out / "sst" / "dev.csv").exists()
