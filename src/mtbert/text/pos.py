"""A word's WordNet part of speech in its sentence, learned from WordNet's own example sentences.

No tagger model is reachable offline, but WordNet's ~43k example sentences each use a lemma of a known synset, so
they label that word's part of speech in context. A scikit-learn logistic regression on the word, its suffixes and
its neighbours (and the parts of speech WordNet allows each of them) learns from them; predictions are restricted to
the parts of speech WordNet has for the word. Held-out accuracy is measured by `fit` and kept in `accuracy`.
"""

from __future__ import annotations

import random
import re

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[^\sa-z]")


def wordnet_pos(pos: str) -> str:
    """Adjective satellites ('s') are adjectives."""
    return "a" if pos == "s" else pos


class ContextPOS:
    """Part of speech (n, v, a, r) of each word of a sentence, among those WordNet allows for it."""

    def __init__(self, wordnet):
        self.wn = wordnet
        self._allowed: dict[str, frozenset[str]] = {}
        self.vectorizer = DictVectorizer()
        self.model = LogisticRegression(max_iter=1000)
        self.accuracy: float | None = None

    def allowed(self, word: str) -> frozenset[str]:
        if word not in self._allowed:
            self._allowed[word] = frozenset(wordnet_pos(s.pos()) for s in self.wn.synsets(word)) if word.isalpha() else frozenset()
        return self._allowed[word]

    def examples(self) -> list[tuple[list[str], int, str]]:
        """(tokens, position, part of speech) from every synset example that uses one of the synset's lemmas."""
        out = []
        for synset in self.wn.all_synsets():
            pos = wordnet_pos(synset.pos())
            names = {lemma.name().lower() for lemma in synset.lemmas() if "_" not in lemma.name()}
            for sentence in synset.examples():
                tokens = TOKEN.findall(sentence.lower())
                for i, token in enumerate(tokens):
                    if token in names or self.wn.morphy(token, pos) in names:
                        out.append((tokens, i, pos))
                        break
        return out

    def features(self, words: list[str], i: int) -> dict[str, int]:
        word = words[i]
        f = {"bias": 1, f"w={word}": 1, f"suf2={word[-2:]}": 1, f"suf3={word[-3:]}": 1}
        f.update({f"can={p}": 1 for p in self.allowed(word)})
        for offset in (-2, -1, 1, 2):
            j = i + offset
            other = words[j] if 0 <= j < len(words) else "<s>"
            f[f"w{offset}={other}"] = 1
            f.update({f"p{offset}={p}": 1 for p in self.allowed(other) or {"none"}})
        return f

    def fit(self, seed: int = 0, heldout: float = 0.1) -> "ContextPOS":
        """Train on WordNet's examples, measuring accuracy on a seeded held-out share first."""
        data = self.examples()
        random.Random(seed).shuffle(data)
        X = self.vectorizer.fit_transform([self.features(t, i) for t, i, _ in data])
        y = np.array([p for _, _, p in data])
        cut = int(len(y) * (1 - heldout))
        self.model.fit(X[:cut], y[:cut])
        self.accuracy = float(np.mean(self._restricted(X[cut:], [t[i] for t, i, _ in data[cut:]]) == y[cut:]))
        self.model.fit(X, y)
        return self

    def _restricted(self, X, words: list[str]) -> np.ndarray:
        proba = self.model.predict_proba(X)
        classes = list(self.model.classes_)
        allowed = np.array([[c in (self.allowed(w) or classes) for c in classes] for w in words])
        return np.array(classes)[np.where(allowed, proba, -1.0).argmax(1)]

    def tag(self, words: list[str]) -> list[str | None]:
        """Each word's part of speech in this sentence, or None where WordNet has no entry for it."""
        lower = [w.lower() for w in words]
        known = [i for i, w in enumerate(lower) if self.allowed(w)]
        tags: list[str | None] = [None] * len(words)
        if known:
            X = self.vectorizer.transform([self.features(lower, i) for i in known])
            for i, tag in zip(known, self._restricted(X, [lower[i] for i in known])):
                tags[i] = str(tag)
        return tags
