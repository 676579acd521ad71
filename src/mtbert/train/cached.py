"""A frozen encoder's outputs computed once: under `train.mode: frozen` the heads train (and are scored on dev) on
cached features, so a step costs a head's forward and backward instead of an encoder pass, and a frozen baseline can
train for the report's own number of head epochs. The encoder runs in eval mode (no dropout), as it does uncached."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mtbert.data.batching import TaskData, collate, sequential_batches
from mtbert.eval import predict as P
from mtbert.io import atomic_path
from mtbert.model.heads import Features
from mtbert.model.multitask import TASK_SPECS, MultitaskModel


@dataclass
class FeatureCache:
    """One task split's encoder outputs per input row: pooled vectors, and each row's token states when its head reads
    them (the BiLSTM head). Pairs encoded apart keep their a's and b's as rows [0, n) and [n, 2n)."""

    task: str
    siamese: bool
    pooled: torch.Tensor  # (rows, H)
    tokens: list[torch.Tensor] | None  # per row (length, H), unpadded

    @classmethod
    def build(cls, model: MultitaskModel, data: TaskData, batch_size: int, pad_id: int, device: torch.device,
              store: Path | None = None) -> "FeatureCache":
        """Encode `data` once; with a `store` folder, outputs computed by an earlier run from the same encoder weights,
        pooling and tokenised rows are read back instead (every seed and arm of a frozen comparison shares them)."""
        if store is None:
            return cls._encode(model, data, batch_size, pad_id, device)
        path = store / f"{fingerprint(model, data)}.safetensors"
        if path.exists():
            return cls.load(path, data.task, device)
        cache = cls._encode(model, data, batch_size, pad_id, device)
        cache.save(path)
        return cache

    def save(self, path: Path) -> None:
        tensors = {"pooled": self.pooled.detach().cpu().contiguous()}
        if self.tokens is not None:
            tensors["tokens"] = torch.cat(self.tokens).cpu().contiguous()
            tensors["lengths"] = torch.tensor([len(t) for t in self.tokens])
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"siamese": str(self.siamese)})

    @classmethod
    def load(cls, path: Path, task: str, device: torch.device) -> "FeatureCache":
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            siamese = f.metadata()["siamese"] == "True"
        t = load_file(str(path), device=str(device))
        tokens = list(torch.split(t["tokens"], t["lengths"].tolist())) if "tokens" in t else None
        return cls(task, siamese, t["pooled"], tokens)

    @classmethod
    @torch.inference_mode()
    def _encode(cls, model: MultitaskModel, data: TaskData, batch_size: int, pad_id: int,
                device: torch.device) -> "FeatureCache":
        model.bert.eval()
        siamese = model.input_form(data.task) == "siamese"
        n = len(data)
        rows = 2 * n if siamese else n
        pooled = torch.empty(rows, model.bert.config.hidden_size, device=device)
        keep_tokens = model.heads[data.task].reads_tokens
        tokens: list[torch.Tensor | None] = [None] * rows
        for index in sequential_batches(data.lengths(), batch_size):
            batch = {k: v.to(device) for k, v in collate(data, index, pad_id).items() if k != "labels"}
            with P.autocast(device):
                features = model.encode(batch)
            where = np.concatenate([index, index + n]) if siamese else index
            pooled[torch.as_tensor(where, device=device)] = features.pooled.float()
            if keep_tokens:
                lengths = features.mask.sum(1).tolist()
                for row, h, length in zip(where, features.hidden.float(), lengths):
                    tokens[row] = h[:length].clone()
        return cls(data.task, siamese, pooled, tokens if keep_tokens else None)

    def features(self, index: np.ndarray) -> Features:
        """A batch's Features, laid out as the encoder gives them (a's then b's for pairs; token states padded)."""
        n = len(self.pooled) // 2 if self.siamese else len(self.pooled)
        rows = np.concatenate([index, index + n]) if self.siamese else np.asarray(index)
        pooled = self.pooled[torch.as_tensor(rows, device=self.pooled.device)]
        if self.tokens is None:
            mask = torch.ones(len(rows), 1, dtype=torch.long, device=pooled.device)
            return Features(pooled, pooled.unsqueeze(1), mask)
        states = [self.tokens[r] for r in rows]
        hidden = torch.nn.utils.rnn.pad_sequence(states, batch_first=True)
        mask = torch.zeros(hidden.shape[:2], dtype=torch.long, device=hidden.device)
        for i, s in enumerate(states):
            mask[i, :len(s)] = 1
        return Features(pooled, hidden, mask)


def fingerprint(model: MultitaskModel, data: TaskData) -> str:
    """What a task split's cached outputs depend on: the encoder's weights, the pooling, the input form, whether token
    states are kept, and the tokenised rows."""
    h = hashlib.sha256(json.dumps([model.cfg.pooling, model.input_form(data.task), data.task,
                                   model.heads[data.task].reads_tokens]).encode())
    for name, tensor in sorted(model.bert.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    for side in (data.a, data.b or []):
        for e in side:
            h.update(np.asarray(e.input_ids, dtype=np.int32).tobytes() + np.asarray(e.token_type_ids, dtype=np.int8).tobytes())
            h.update(b"|")
    return h.hexdigest()[:24]


@torch.inference_mode()
def predict_cached(model: MultitaskModel, cache: FeatureCache, batch_size: int) -> np.ndarray:
    """Predictions (class, 0/1 or similarity) of the heads on a cached split, in its rows' order."""
    model.eval()
    n = len(cache.pooled) // 2 if cache.siamese else len(cache.pooled)
    out = np.zeros((n, TASK_SPECS[cache.task].n_out), dtype=np.float32)
    for start in range(0, n, batch_size):
        index = np.arange(start, min(n, start + batch_size))
        output = model.head(cache.task, cache.features(index))
        out[index] = output.float().cpu().numpy().reshape(len(index), -1)
    return TASK_SPECS[cache.task].predict(out).astype(np.float64)
