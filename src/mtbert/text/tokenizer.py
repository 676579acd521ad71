"""BERT WordPiece tokenisation from a checkpoint's vocab.txt, through the `tokenizers` library."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers.implementations import BertWordPieceTokenizer


@dataclass
class Encoded:
    """Token ids and token types of one sentence or sentence pair, unpadded."""

    input_ids: list[int]
    token_type_ids: list[int]


class Tokenizer:
    """[CLS] a [SEP] (b [SEP]) with truncation to `max_length`, longest sequence first for pairs."""

    def __init__(self, vocab: Path | str, max_length: int = 128, lowercase: bool = True):
        self.max_length = max_length
        self._tok = BertWordPieceTokenizer(str(vocab), lowercase=lowercase, strip_accents=None if lowercase else False)
        self._tok.enable_truncation(max_length=max_length, strategy="longest_first")
        self.pad_id = self._tok.token_to_id("[PAD]")
        self.cls_id = self._tok.token_to_id("[CLS]")
        self.sep_id = self._tok.token_to_id("[SEP]")
        self.mask_id = self._tok.token_to_id("[MASK]")
        self.vocab_size = self._tok.get_vocab_size()

    @classmethod
    def from_checkpoint(cls, directory: Path | str, max_length: int = 128) -> "Tokenizer":
        """Lower-casing follows tokenizer_config.json's do_lower_case (BERT's default: True)."""
        directory = Path(directory)
        config = directory / "tokenizer_config.json"
        lowercase = json.loads(config.read_text()).get("do_lower_case", True) if config.exists() else True
        return cls(directory / "vocab.txt", max_length=max_length, lowercase=lowercase)

    def encode(self, texts: list[str], pairs: list[str] | None = None) -> list[Encoded]:
        batch = list(zip(texts, pairs)) if pairs is not None else texts
        return [Encoded(e.ids, e.type_ids) for e in self._tok.encode_batch(batch)]

    def tokens(self, text: str) -> list[str]:
        return self._tok.encode(text).tokens

    def token_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)
