"""What every timed loop runs: the same summed steps (one batch of every task) drawn from the real training data, and
the same steps padded to max_length as the standard loop sees them."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mtbert.data.batching import BatchStream, TaskData, collate

Step = dict[str, dict[str, torch.Tensor]]  # task -> collated batch


def sample_steps(data: dict[str, TaskData], batch_size: int, n_steps: int, seed: int, pad_id: int) -> list[Step]:
    """`n_steps` summed steps as training draws them (length-bucketed batches, padded to the longest in the batch)."""
    streams = {t: BatchStream(d, batch_size, seed + k) for k, (t, d) in enumerate(data.items())}
    return [{t: collate(d, next(streams[t]), pad_id) for t, d in data.items()} for _ in range(n_steps)]


def pad_step(step: Step, width: int, pad_id: int) -> Step:
    """Every batch padded to `width` tokens, as a loop with `padding="max_length"` feeds it."""
    out = {}
    for task, batch in step.items():
        extra = width - batch["input_ids"].shape[1]
        fill = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0}
        out[task] = {k: torch.nn.functional.pad(v, (0, extra), value=fill[k]) if k in fill else v for k, v in batch.items()}
    return out


@dataclass
class StepSize:
    sequences: int
    real_tokens: int  # non-padding tokens
    lengths: list[int]  # real length of every sequence, for the attention FLOPs


def step_size(step: Step) -> StepSize:
    lengths = [int(n) for batch in step.values() for n in batch["attention_mask"].sum(1)]
    return StepSize(len(lengths), sum(lengths), lengths)


def training_flops(n_params: int, n_layers: int, hidden: int, lengths: list[int]) -> float:
    """Model FLOPs of a training step (forward + backward) on real tokens: 6 N per token for the weights (N without
    the embeddings) plus 12 L d n per token of a length-n sequence for attention scores and values (PaLM, app. B)."""
    return sum(6 * n_params * n + 12 * n_layers * hidden * n * n for n in lengths)


def non_embedding_dims(cfg) -> tuple[int, int, int]:
    """(weights outside the embeddings, layers, hidden size) of a BERT config: per layer the Q, K, V and output
    projections (4 d^2) and the feed-forward (2 d ff), biases and LayerNorms left out (under 1%)."""
    d, L = cfg.hidden_size, cfg.num_hidden_layers
    return L * (4 * d * d + 2 * d * cfg.intermediate_size), L, d
