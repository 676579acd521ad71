"""Further MLM + NSP pretraining of the encoder on review text, with held-out MLM and NSP accuracy per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from mtbert.data.batching import bucketed_batches, sequential_batches
from mtbert.eval.predict import autocast
from mtbert.model.bert import BertModel, PretrainingHeads
from mtbert.pretrain.examples import SegmentPair, mask_tokens
from mtbert.text.sentences import split_sentences
from mtbert.text.tokenizer import Encoded, Tokenizer
from mtbert.train.optim import linear_warmup_decay


@dataclass
class PretrainConfig:
    enabled: bool = False
    splits: list[str] = field(default_factory=lambda: ["unsup", "train"])  # aclImdb parts: unsup, train, test
    max_reviews: int | None = 20000  # a seeded sample of the chosen splits' reviews; null for all
    heldout_reviews: int = 500  # reviews kept out of training, for the held-out MLM/NSP accuracy
    max_length: int = 128
    mask_prob: float = 0.15
    epochs: int = 3
    steps_per_epoch: int | None = 100  # null: one pass over the training pairs per epoch
    batch_size: int = 16
    lr: float = 5.0e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0


@dataclass
class Examples:
    encoded: list[Encoded]
    labels: np.ndarray  # NSP labels

    def __len__(self) -> int:
        return len(self.encoded)


def sentence_docs(texts: list[str]) -> list[list[str]]:
    return [split_sentences(t) for t in texts]


def encode_pairs(pairs: list[SegmentPair], tokenizer: Tokenizer) -> Examples:
    """[CLS] a [SEP] b [SEP], truncated longest-first to the tokenizer's max_length."""
    return Examples(tokenizer.encode([p.a for p in pairs], [p.b for p in pairs]), np.array([p.label for p in pairs]))


class Masker:
    """Pads a batch and masks it; [CLS], [SEP] and [PAD] are never chosen, random replacements are never special."""

    def __init__(self, tokenizer: Tokenizer, prob: float):
        self.tok, self.prob = tokenizer, prob
        specials = {tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id, tokenizer.token_id("[UNK]")}
        self.special_ids = torch.tensor(sorted(i for i in specials if i is not None))
        self.replacements = torch.tensor([i for i in range(tokenizer.vocab_size) if i not in specials])

    def __call__(self, ex: Examples, index: np.ndarray, generator: torch.Generator) -> dict[str, torch.Tensor]:
        encs = [ex.encoded[i] for i in index]
        width = max(len(e.input_ids) for e in encs)
        ids = torch.full((len(encs), width), self.tok.pad_id, dtype=torch.long)
        types = torch.zeros_like(ids)
        for row, e in enumerate(encs):
            ids[row, :len(e.input_ids)] = torch.tensor(e.input_ids)
            types[row, :len(e.input_ids)] = torch.tensor(e.token_type_ids)
        mask = (torch.arange(width)[None] < torch.tensor([len(e.input_ids) for e in encs])[:, None]).long()
        special = torch.isin(ids, self.special_ids) | (mask == 0)
        masked, labels = mask_tokens(ids, special, self.replacements, self.tok.mask_id, generator, self.prob)
        return {"input_ids": masked, "attention_mask": mask, "token_type_ids": types, "mlm_labels": labels,
                "nsp_labels": torch.tensor(ex.labels[index], dtype=torch.long)}


def forward(encoder: BertModel, heads: PretrainingHeads, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """MLM logits at the masked positions only (the vocabulary projection is the costly part), and NSP logits."""
    hidden, pooled = encoder(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    chosen = batch["mlm_labels"] != -100
    return {"mlm": heads.predictions(hidden[chosen]).float(), "mlm_labels": batch["mlm_labels"][chosen],
            "nsp": heads.seq_relationship(pooled).float()}


@torch.no_grad()
def evaluate(encoder: BertModel, heads: PretrainingHeads, ex: Examples, masker: Masker, batch_size: int,
             device: torch.device, seed: int) -> dict[str, float]:
    """Held-out MLM accuracy/loss and NSP accuracy; the masking is seeded, so every epoch sees the same masks."""
    encoder.eval()
    heads.eval()
    gen = torch.Generator().manual_seed(seed)
    correct = total = nsp_correct = 0
    loss = 0.0
    lengths = np.array([len(e.input_ids) for e in ex.encoded])
    for index in sequential_batches(lengths, batch_size):
        batch = {k: v.to(device) for k, v in masker(ex, index, gen).items()}
        with autocast(device):
            out = forward(encoder, heads, batch)
        correct += (out["mlm"].argmax(-1) == out["mlm_labels"]).sum().item()
        total += len(out["mlm_labels"])
        loss += F.cross_entropy(out["mlm"], out["mlm_labels"], reduction="sum").item()
        nsp_correct += (out["nsp"].argmax(-1) == batch["nsp_labels"]).sum().item()
    return {"heldout/mlm_accuracy": correct / max(1, total), "heldout/mlm_loss": loss / max(1, total),
            "heldout/nsp_accuracy": nsp_correct / max(1, len(ex))}


def pretrain(encoder: BertModel, heads: PretrainingHeads, train_ex: Examples, heldout: Examples, masker: Masker,
             cfg: PretrainConfig, device: torch.device, live) -> list[dict[str, float]]:
    """Train MLM + NSP (summed losses); held-out metrics before training (epoch 0) and after every epoch."""
    encoder.to(device)
    heads.to(device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    lengths = np.array([len(e.input_ids) for e in train_ex.encoded])
    steps = cfg.steps_per_epoch or -(-len(train_ex) // cfg.batch_size)
    params = list({id(p): p for p in list(encoder.parameters()) + list(heads.parameters())}.values())
    decay = [p for p in params if p.ndim > 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}], lr=cfg.lr)
    scheduler = linear_warmup_decay(optimizer, steps * cfg.epochs, cfg.warmup_ratio)
    history = [dict(evaluate(encoder, heads, heldout, masker, 64, device, cfg.seed), epoch=0)]
    queue: list[np.ndarray] = []
    for epoch in range(1, cfg.epochs + 1):
        for name, value in history[-1].items():
            if name != "epoch":
                live.log_metric(name, value)
        live.next_step()
        encoder.train()
        heads.train()
        sums = {"mlm": 0.0, "nsp": 0.0}
        for _ in tqdm(range(steps), desc=f"pretrain epoch {epoch}/{cfg.epochs}", unit="step", mininterval=5):
            if not queue:
                queue = bucketed_batches(lengths, cfg.batch_size, rng)
            batch = {k: v.to(device) for k, v in masker(train_ex, queue.pop(), gen).items()}
            with autocast(device):
                out = forward(encoder, heads, batch)
            mlm = F.cross_entropy(out["mlm"], out["mlm_labels"]) if len(out["mlm_labels"]) else out["mlm"].sum() * 0
            nsp = F.cross_entropy(out["nsp"], batch["nsp_labels"])
            optimizer.zero_grad(set_to_none=True)
            (mlm + nsp).backward()
            optimizer.step()
            scheduler.step()
            sums["mlm"] += mlm.item()
            sums["nsp"] += nsp.item()
        result = evaluate(encoder, heads, heldout, masker, 64, device, cfg.seed)
        result |= {"train/mlm_loss": sums["mlm"] / steps, "train/nsp_loss": sums["nsp"] / steps}
        history.append(dict(result, epoch=epoch))
    for name, value in history[-1].items():
        if name != "epoch":
            live.log_metric(name, value)
    live.next_step()
    return history
