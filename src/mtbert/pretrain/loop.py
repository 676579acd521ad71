"""Further MLM + NSP pretraining of the encoder on review text, with held-out MLM and NSP accuracy per epoch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from mtbert.config.pretrain import PretrainConfig
from mtbert.data.batching import bucketed_batches, pad, sequential_batches
from mtbert.device import reuse_freed_memory
from mtbert.eval.predict import autocast
from mtbert.model.bert import BertModel, PretrainingHeads
from mtbert.pretrain.examples import SegmentPair, mask_tokens
from mtbert.text.sentences import split_sentences
from mtbert.text.tokenizer import Encoded, Tokenizer
from mtbert.train.distributed import NoLive, Ranks, data_parallel
from mtbert.train.optim import decay_groups, linear_warmup_decay, make_adamw
from mtbert.train.state import StateStore, rng_state, set_rng_state


@dataclass
class Examples:
    encoded: list[Encoded]
    labels: np.ndarray  # NSP labels

    def __len__(self) -> int:
        return len(self.encoded)

    def lengths(self) -> np.ndarray:
        return np.array([len(e.input_ids) for e in self.encoded])


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
        ids, mask, types = pad(encs, max(len(e.input_ids) for e in encs), self.tok.pad_id)
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
    for index in sequential_batches(ex.lengths(), batch_size):
        batch = {k: v.to(device) for k, v in masker(ex, index, gen).items()}
        with autocast(device):
            out = forward(encoder, heads, batch)
        correct += (out["mlm"].argmax(-1) == out["mlm_labels"]).sum().item()
        total += len(out["mlm_labels"])
        loss += F.cross_entropy(out["mlm"], out["mlm_labels"], reduction="sum").item()
        nsp_correct += (out["nsp"].argmax(-1) == batch["nsp_labels"]).sum().item()
    return {"heldout/mlm_accuracy": correct / max(1, total), "heldout/mlm_loss": loss / max(1, total),
            "heldout/nsp_accuracy": nsp_correct / max(1, len(ex))}


def step_losses(modules: torch.nn.ModuleList, batch: dict[str, torch.Tensor], scales: tuple[float, float]):
    """MLM and NSP losses of a (shard of a) batch, each times its scale: a rank's share of the masked tokens and of the
    rows, so the ranks' averaged gradient is the whole batch's."""
    encoder, heads = modules
    with autocast(batch["input_ids"].device):
        out = forward(encoder, heads, batch)
    mlm = F.cross_entropy(out["mlm"], out["mlm_labels"]) if len(out["mlm_labels"]) else out["mlm"].sum() * 0
    nsp = F.cross_entropy(out["nsp"], batch["nsp_labels"])
    return mlm, nsp, scales[0] * mlm + scales[1] * nsp


def pretrain(encoder: BertModel, heads: PretrainingHeads, train_ex: Examples, heldout: Examples, masker: Masker,
             cfg: PretrainConfig, device: torch.device, live, ranks: Ranks = Ranks(),
             store: StateStore | None = None) -> list[dict[str, float]]:
    """Train MLM + NSP (summed losses); held-out metrics before training (epoch 0) and after every epoch. Under several
    ranks each draws and masks the same batch and trains on its shard of the rows; only the main rank logs. With a
    `store`, a killed run resumes from its last state (written every `store.every` steps and at epoch ends)."""
    reuse_freed_memory()
    encoder.to(device)
    heads.to(device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps = cfg.steps_per_epoch or -(-len(train_ex) // cfg.batch_size)
    # one module over both, so the decoder weight tied to the word embeddings is counted once
    modules = torch.nn.ModuleList([encoder, heads])
    optimizer = make_adamw(decay_groups(modules, cfg.lr, cfg.weight_decay))
    scheduler = linear_warmup_decay(optimizer, steps * cfg.epochs, cfg.warmup_ratio)
    losses = data_parallel(modules, step_losses, ranks)
    live = live if ranks.is_main else NoLive()

    def record(result: dict[str, float], epoch: int) -> None:
        history.append(dict(result, epoch=epoch))
        for name, value in result.items():
            live.log_metric(name, value)
        live.next_step()  # DVCLive step k holds the metrics after epoch k

    history: list[dict] = []
    queue: list[np.ndarray] = []
    sums = {"mlm": 0.0, "nsp": 0.0}
    position = (1, 0)

    def snapshot(at: tuple[int, int]) -> None:
        if store is not None and ranks.is_main:
            store.save({"position": at, "modules": modules.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "rng": rng_state(), "batches": rng.bit_generator.state,
                        "masks": gen.get_state(), "queue": list(queue), "history": history, "sums": sums})

    saved, said = store.load() if store is not None else (None, "")
    if said:
        print(f"pretrain state: {said}")
    if saved is None:
        record(evaluate(encoder, heads, heldout, masker, 64, device, cfg.seed), 0)
    else:
        modules.load_state_dict(saved["modules"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        rng.bit_generator.state, queue, sums = saved["batches"], list(saved["queue"]), saved["sums"]
        gen.set_state(saved["masks"])
        for result in saved["history"]:  # DVC cleared the stage's logs before the rerun: write them again
            record({k: v for k, v in result.items() if k != "epoch"}, result["epoch"])
        position = tuple(saved["position"])
        set_rng_state(saved["rng"])  # last: nothing above may draw
    for epoch in range(position[0], cfg.epochs + 1):
        encoder.train()
        heads.train()
        first = position[1] if epoch == position[0] else 0
        if not first:
            sums = {"mlm": 0.0, "nsp": 0.0}
        for step in tqdm(range(first, steps), desc=f"pretrain epoch {epoch}/{cfg.epochs}", unit="step", mininterval=5,
                         disable=not ranks.is_main, initial=first, total=steps):
            if not queue:
                queue = bucketed_batches(train_ex.lengths(), cfg.batch_size, rng)
            full = masker(train_ex, queue.pop(), gen)  # the same on every rank: same seeds
            rows = ranks.shard(np.arange(len(full["nsp_labels"])))
            batch = {k: v[rows].to(device) for k, v in full.items()}
            masked = int((full["mlm_labels"] != -100).sum())
            scales = (ranks.loss_scale(int((batch["mlm_labels"] != -100).sum()), max(1, masked)),
                      ranks.loss_scale(len(rows), len(full["nsp_labels"])))
            mlm, nsp, loss = losses(batch, scales)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            sums["mlm"] += mlm.item()
            sums["nsp"] += nsp.item()
            if store is not None and store.every and (step + 1) % store.every == 0 and step + 1 < steps:
                snapshot((epoch, step + 1))
        result = evaluate(encoder, heads, heldout, masker, 64, device, cfg.seed)
        record(result | {"train/mlm_loss": sums["mlm"] / steps, "train/nsp_loss": sums["nsp"] / steps}, epoch)
        if epoch < cfg.epochs:
            snapshot((epoch + 1, 0))
    if store is not None and ranks.is_main:
        store.clear()  # finished: a rerun starts fresh
    return history
