"""Training-set augmentation: WordNet synonym replacement and the other EDA operations (Wei & Zou 2019).

Only training rows are augmented; originals are kept and each gets `copies` augmented twins. Pair tasks change one
side per twin (chosen at random). With `synonym_senses: first` a word is replaced only by a lemma of its most frequent
WordNet sense for its part of speech in the sentence, so "awful" stays bad; `all` is EDA's original (any sense of any
part of speech: "awful" may become "awesome"). Every choice comes from a generator seeded by (seed, task, row id,
copy), so the output depends on nothing else.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pandas as pd

from mtbert.config.augment import AugmentConfig
from mtbert.data.prepared import load_split
from mtbert.io import atomic_dir, write_json
from mtbert.text.pos import ContextPOS

# EDA's stop-word list: these words are never replaced and never the source of an insertion.
STOP_WORDS = frozenset("""i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
her hers herself it its itself they them their theirs themselves what which who whom this that these those am is are was
were be been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under again further
then once here there when where why how all any both each few more most other some such no nor not only own same so than
too very s t can will just don should now""".split())


@contextlib.contextmanager
def wordnet_from(zip_path: Path) -> Iterator[object]:
    """nltk's WordNet reader on a private copy of corpora/wordnet.zip (nltk refuses DVC's hard-linked cache files)."""
    if not zip_path.exists():
        raise FileNotFoundError(f"{zip_path}: WordNet not downloaded (add `wordnet` to data.download.sources)")
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    from nltk.corpus.util import LazyCorpusLoader

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpora"
        root.mkdir()
        shutil.copyfile(zip_path, root / "wordnet.zip")
        nltk.data.path.insert(0, tmp)  # what NLTK_DATA=<tmp> would do, for this process only
        try:
            reader = LazyCorpusLoader("wordnet", WordNetCorpusReader, None)
            with warnings.catch_warnings():  # the multilingual (OMW) functions are not needed here
                warnings.simplefilter("ignore", UserWarning)
                reader.ensure_loaded()
            yield reader
        finally:
            nltk.data.path.remove(tmp)


class Synonyms:
    """WordNet synonyms of a word, sorted (so seeded choices are reproducible), without the word itself: of every
    sense (`all`), or of the most frequent sense for a given part of speech (`first`)."""

    def __init__(self, wordnet, senses: str = "all"):
        if senses not in ("first", "all"):
            raise ValueError(f"augment.synonym_senses: {senses!r} is not one of ['first', 'all']")
        self.wn, self.senses = wordnet, senses
        self.lookup = lru_cache(maxsize=None)(self._lookup)

    def _lookup(self, word: str, pos: str | None) -> tuple[str, ...]:
        if word in STOP_WORDS or not word.isalpha():
            return ()
        if self.senses == "first":
            synsets = self.wn.synsets(word, pos)[:1] if pos else []
        else:
            synsets = self.wn.synsets(word)
        names = {lemma.name().replace("_", " ").lower() for s in synsets for lemma in s.lemmas()}
        return tuple(sorted(n for n in names if n != word and all(p.isalpha() for p in n.replace("-", " ").split())))

    def __call__(self, word: str, pos: str | None = None) -> tuple[str, ...]:
        return self.lookup(word.lower(), pos if self.senses == "first" else None)


def synonym_replace(words: list[str], n: int, synonyms: Synonyms, rng: random.Random,
                    tags: list[str | None] | None = None) -> tuple[list[str], list[tuple]]:
    """Replace up to `n` distinct words that have synonyms (for their part of speech `tags`, when given); returns the
    words and the (position, old, new) changes."""
    tags = tags or [None] * len(words)
    candidates = [i for i, w in enumerate(words) if synonyms(w, tags[i])]
    out, changes = list(words), []
    for i in sorted(rng.sample(candidates, min(n, len(candidates)))):
        out[i] = rng.choice(synonyms(words[i], tags[i]))
        changes.append((i, words[i], out[i]))
    return out, changes


def random_insert(words: list[str], n: int, synonyms: Synonyms, rng: random.Random,
                  tags: list[str | None] | None = None) -> list[str]:
    tags = tags or [None] * len(words)
    candidates = [(w, t) for w, t in zip(words, tags) if synonyms(w, t)]
    out = list(words)
    for _ in range(n if candidates else 0):
        out.insert(rng.randrange(len(out) + 1), rng.choice(synonyms(*rng.choice(candidates))))
    return out


def random_swap(words: list[str], n: int, rng: random.Random) -> list[str]:
    out = list(words)
    for _ in range(n if len(out) > 1 else 0):
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    return out


def random_delete(words: list[str], p: float, rng: random.Random) -> list[str]:
    kept = [w for w in words if rng.random() >= p]
    return kept or [rng.choice(words)]  # never an empty sentence


def count(rate: float, words: list[str]) -> int:
    return max(1, round(rate * len(words))) if rate > 0 else 0


def augment_sentence(sentence: str, cfg: AugmentConfig, synonyms: Synonyms, rng: random.Random, stats: Counter,
                     tagger: ContextPOS | None = None, changes: list | None = None) -> str:
    """The configured operations in EDA's order: synonym replacement, insertion, swap, deletion. `tagger` gives the
    parts of speech `first` senses need; `changes` collects the synonym replacements."""
    words = sentence.split()
    if not words:
        return sentence
    tags = tagger.tag(words) if tagger is not None and synonyms.senses == "first" else None
    words, replaced = synonym_replace(words, count(cfg.synonym_rate, words), synonyms, rng, tags)
    stats["synonyms"] += len(replaced)
    if changes is not None:
        changes += replaced
    if cfg.insert_rate > 0:
        n = len(words)
        words = random_insert(words, count(cfg.insert_rate, words), synonyms, rng, tags)
        stats["inserted"] += len(words) - n
    if cfg.swap_rate > 0:
        words = random_swap(words, count(cfg.swap_rate, words), rng)
        stats["swapped"] += 1
    if cfg.delete_rate > 0:
        n = len(words)
        words = random_delete(words, cfg.delete_rate, rng)
        stats["deleted"] += n - len(words)
    return " ".join(words)


def augment_table(df: pd.DataFrame, task: str, cfg: AugmentConfig, synonyms: Synonyms,
                  tagger: ContextPOS | None = None) -> tuple[pd.DataFrame, dict]:
    """The original rows followed by `copies` augmented twins of each (ids suffixed `~aug<k>`); the stats include the
    first `cfg.samples` synonym replacements, for the report."""
    pair = "sentence1" in df.columns
    twins, stats, samples = [], Counter(), []
    for k in range(1, cfg.copies + 1):
        for row in df.itertuples(index=False):
            rng = random.Random(f"{cfg.seed}:{task}:{row.id}:{k}")
            new = row._asdict()
            side = rng.choice(["sentence1", "sentence2"]) if pair else "sentence"
            replaced: list = []
            new[side] = augment_sentence(new[side], cfg, synonyms, rng, stats, tagger, replaced)
            stats["unchanged"] += new[side] == getattr(row, side)
            if replaced and len(samples) < cfg.samples:
                samples.append({"id": row.id, "before": getattr(row, side), "after": new[side],
                                "replaced": [[old, new_word] for _, old, new_word in replaced]})
            new["id"] = f"{row.id}~aug{k}"
            twins.append(new)
    out = pd.concat([df, pd.DataFrame(twins, columns=df.columns)], ignore_index=True)
    return out, {"original_rows": len(df), "augmented_rows": len(twins), **stats, "samples": samples}


def augment(prepared: Path, wordnet_zip: Path, out: Path, cfg: AugmentConfig, tagger: ContextPOS | None = None) -> dict:
    """Write out/<task>/train.csv for each task in cfg.tasks (dev and test are never read), and out/summary.json.
    `first` senses need a part-of-speech tagger: fitted here on WordNet's examples unless one is given."""
    summary = {}
    with wordnet_from(wordnet_zip) as wn, atomic_dir(out) as staging:
        synonyms = Synonyms(wn, cfg.synonym_senses)
        if cfg.synonym_senses == "first" and tagger is None:
            tagger = ContextPOS(wn).fit(seed=cfg.seed)
        for task in cfg.tasks:
            table, summary[task] = augment_table(load_split(prepared, task, "train"), task, cfg, synonyms, tagger)
            (staging / task).mkdir()
            table.to_csv(staging / task / "train.csv", index=False)
        tagging = {"heldout_accuracy": tagger.accuracy} if tagger and cfg.synonym_senses == "first" else None
        write_json(staging / "summary.json", {"config": vars(cfg), "pos_tagger": tagging, "tasks": summary})
    return {"config": vars(cfg), "pos_tagger": tagging, "tasks": summary}
