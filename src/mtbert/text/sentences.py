"""A rule-based sentence splitter for review text (nltk's punkt model is not available offline).

Breaks at HTML line breaks (IMDB's `<br />`) and after . ! ? or "..." (with any closing quotes or brackets) when
the next word starts a sentence (capital letter, digit or opening quote). A full stop after a known abbreviation
(Mr., Dr., vs., e.g.), a single initial (J. R. R. Tolkien) or a dotted acronym (U.S.) ends no sentence.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset("""mr mrs ms dr prof st jr sr vs etc e.g i.e mt no vol ch fig approx dept est inc ltd co
jan feb mar apr jun jul aug sep sept oct nov dec gen col lt sgt capt rev hon""".split())

BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
BOUNDARY = re.compile(r"""([.!?]+|…)(["'”’)\]]*)\s+(?=["'“‘(\[]*[A-Z0-9])""")


def _ends_with_abbreviation(text: str) -> bool:
    """Does `text` (which ends just before a single '.') end with an abbreviation, an initial or an acronym?"""
    word = text.rsplit(None, 1)[-1] if text.split() else ""
    word = word.lstrip("\"'“‘([")
    return (word.lower() in ABBREVIATIONS or re.fullmatch(r"[A-Z]", word) is not None
            or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word) is not None)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order; empty pieces dropped."""
    sentences = []
    for block in BREAK.split(text):
        start = 0
        for m in BOUNDARY.finditer(block):
            if m.group(1) == "." and _ends_with_abbreviation(block[start:m.start()]):
                continue
            sentences.append(block[start:m.end(2)].strip())
            start = m.end()
        sentences.append(block[start:].strip())
    return [s for s in sentences if s]
