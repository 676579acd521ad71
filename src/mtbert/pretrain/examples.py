"""BERT pretraining examples: sentence-pair segments for next-sentence prediction, and 80/10/10 MLM masking."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

IS_NEXT, NOT_NEXT = 0, 1  # BERT's seq_relationship order, so bert-base's trained NSP head keeps its meaning


@dataclass
class SegmentPair:
    a: str
    b: str
    label: int  # IS_NEXT or NOT_NEXT
    doc: int  # the review segment a comes from
    b_doc: int  # the review segment b comes from


def _take(sentences: list[str], start: int, max_words: int) -> list[str]:
    """Sentences from `start` on until about `max_words` words (at least one sentence)."""
    out, words = [], 0
    for s in sentences[start:]:
        if out and words + len(s.split()) > max_words:
            break
        out.append(s)
        words += len(s.split())
    return out


def nsp_pairs(docs: list[list[str]], rng: np.random.Generator, max_words: int) -> list[SegmentPair]:
    """One pair per review of ≥ 2 sentences: a = sentences before a random cut; b = the sentences after it for half
    the pairs (exactly, ±1), or sentences of a different review picked at random for the other half."""
    usable = [d for d, sents in enumerate(docs) if len(sents) >= 2]
    labels = rng.permutation([IS_NEXT] * ((len(usable) + 1) // 2) + [NOT_NEXT] * (len(usable) // 2))
    pairs = []
    for d, label in zip(usable, labels):
        sents = docs[d]
        cut = int(rng.integers(1, len(sents)))
        a = _take(sents[:cut][::-1], 0, max_words)[::-1]  # the sentences just before the cut
        if label == IS_NEXT:
            b_doc, b = d, _take(sents, cut, max_words)
        else:
            b_doc = int(rng.integers(len(docs) - 1))
            b_doc += b_doc >= d  # any review but this one
            other = docs[b_doc] or [""]
            b = _take(other, int(rng.integers(len(other))), max_words)
        pairs.append(SegmentPair(" ".join(a), " ".join(b), int(label), d, b_doc))
    return pairs


def mask_tokens(input_ids: torch.Tensor, special: torch.Tensor, replacement_ids: torch.Tensor, mask_id: int,
                generator: torch.Generator, prob: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: each non-special token is chosen with `prob`; a chosen token becomes [MASK] 80% of the time,
    a random ordinary token 10%, itself 10%. Returns (masked ids, labels: the original id where chosen, else -100)."""
    chosen = (torch.rand(input_ids.shape, generator=generator) < prob) & ~special
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    r = torch.rand(input_ids.shape, generator=generator)
    random_tokens = replacement_ids[torch.randint(len(replacement_ids), input_ids.shape, generator=generator)]
    masked = torch.where(chosen & (r < 0.8), torch.full_like(input_ids, mask_id), input_ids)
    masked = torch.where(chosen & (r >= 0.8) & (r < 0.9), random_tokens, masked)
    return masked, labels
