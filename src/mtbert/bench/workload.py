"""What every timed loop runs: the same summed steps (one batch of every task) drawn from the real training data as
training draws them (length-bucketed), the same rows in random batches as the transformers Trainer draws them (its
RandomSampler), and the same steps padded to max_length as a `padding="max_length"` loop sees them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mtbert.config import load_params, section
from mtbert.config.model import ModelConfig
from mtbert.config.train import TrainConfig
from mtbert.data.batching import BatchStream, TaskData, collate, load_task
from mtbert.data.sources import checkpoint_dir
from mtbert.model.heads import HEADS
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.setup import PREPARED, RAW

Step = dict[str, dict[str, torch.Tensor]]  # task -> collated batch
SAMPLE_ROWS = 2000  # training rows per task the steps are drawn from


@dataclass
class Workload:
    """params.yaml's model and training config, its checkpoint and tokenizer, and the sampled real steps."""

    mcfg: ModelConfig
    tcfg: TrainConfig
    checkpoint: Path
    tokenizer: Tokenizer
    steps: list[Step]  # training's length-bucketed batches
    random_steps: list[Step]  # the same rows per task in random batches of the same sizes


def load_workload(n_steps: int) -> Workload:
    """`n_steps` summed steps drawn from a sample of every configured task's prepared training rows."""
    params = load_params()
    mcfg, tcfg = section(params, "model", ModelConfig), section(params, "train", TrainConfig)
    checkpoint = RAW / checkpoint_dir(mcfg.checkpoint)
    tokenizer = Tokenizer.from_checkpoint(checkpoint, mcfg.max_length)
    data = {t: load_task(PREPARED, tokenizer, t, "train", HEADS[mcfg.heads[t]].inputs, SAMPLE_ROWS, seed=0)
            for t in tcfg.tasks}
    drawn = sample_indices(data, tcfg.batch_size, n_steps, 0)
    return Workload(mcfg, tcfg, checkpoint, tokenizer, collate_steps(data, drawn, tokenizer.pad_id),
                    collate_steps(data, random_batches(drawn, 0), tokenizer.pad_id))


def sample_indices(data: dict[str, TaskData], batch_size: int, n_steps: int, seed: int) -> list[dict[str, np.ndarray]]:
    """`n_steps` summed steps' rows as training draws them: length-bucketed batches (data/batching.py)."""
    streams = {t: BatchStream(d, batch_size, seed + k) for k, (t, d) in enumerate(data.items())}
    return [{t: next(streams[t]) for t in data} for _ in range(n_steps)]


def random_batches(drawn: list[dict[str, np.ndarray]], seed: int) -> list[dict[str, np.ndarray]]:
    """The same rows of every task dealt into batches of the same sizes in random order, as a random sampler batches
    them: equal real tokens, the padding of batches whose lengths were not grouped."""
    rng = np.random.default_rng(seed)
    out: list[dict[str, np.ndarray]] = [{} for _ in drawn]
    for task in drawn[0]:
        rows = rng.permutation(np.concatenate([d[task] for d in drawn]))
        ends = np.cumsum([len(d[task]) for d in drawn])
        for k, chunk in enumerate(np.split(rows, ends[:-1])):
            out[k][task] = chunk
    return out


def collate_steps(data: dict[str, TaskData], drawn: list[dict[str, np.ndarray]], pad_id: int) -> list[Step]:
    """Each step's batches padded to their longest sequence (pairs: the a's and b's of a batch together)."""
    return [{t: collate(data[t], idx, pad_id) for t, idx in step.items()} for step in drawn]


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
