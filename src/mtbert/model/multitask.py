"""The shared encoder with one head per task, and what each task is (single/pair, loss, metric)."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mtbert.config.model import ModelConfig
from mtbert.io import atomic_path, write_json
from mtbert.model.bert import BertConfig, BertModel, key_mask
from mtbert.model.heads import HEADS, Features
from mtbert.model.pooling import POOLINGS
from mtbert.seeds import reseed


@dataclass(frozen=True)
class TaskSpec:
    name: str
    pair: bool
    n_out: int
    loss: str
    metric: str  # "accuracy" or "pearson"

    def predict(self, output: np.ndarray) -> np.ndarray:
        """Head output -> the prediction the metric scores (class, 0/1, or similarity)."""
        if self.n_out > 1:
            return output.argmax(-1)
        if self.metric == "accuracy":
            return (output.reshape(-1) > 0).astype(int)
        return output.reshape(-1)


TASK_SPECS = {
    "sst": TaskSpec("sst", pair=False, n_out=5, loss="cross_entropy", metric="accuracy"),
    "quora": TaskSpec("quora", pair=True, n_out=1, loss="bce", metric="accuracy"),
    "sts": TaskSpec("sts", pair=True, n_out=1, loss="mse", metric="pearson"),
    "cfimdb": TaskSpec("cfimdb", pair=False, n_out=1, loss="bce", metric="accuracy"),  # report 001's part 1
}


class MultitaskModel(nn.Module):
    """The encoder and a head per task; each head (and shared trunk) is initialised from a seed derived from `seed`
    and its name, so adding a task's head changes no other head's initial weights. With `model.task_layers` = k the
    encoder's top k layers move into one copy per task (`task_layers[task]`), run between the shared encoder and the
    task's head: at initialisation every task computes what the whole encoder computed."""

    def __init__(self, encoder: BertModel, cfg: ModelConfig, tasks: list[str], seed: int = 0):
        super().__init__()
        self.bert = encoder
        self.cfg = cfg
        self.pool = POOLINGS[cfg.pooling]
        if cfg.max_length > encoder.config.max_position_embeddings:
            raise ValueError(f"model.max_length {cfg.max_length} exceeds the checkpoint's max_position_embeddings "
                             f"{encoder.config.max_position_embeddings}")
        heads = {}
        self.trunks = nn.ModuleDict()
        for task in tasks:
            spec = TASK_SPECS[task]
            head_cls = HEADS[cfg.heads[task]]
            trunk, name = None, cfg.heads[task]
            with torch.random.fork_rng(devices=[]):
                reseed(seed, "init/trunk", name)
                made = self.trunks[name] if name in self.trunks else head_cls.trunk(encoder.config.hidden_size,
                                                                                     cfg.head_dropout)
            if made is not None:
                self.trunks[name] = trunk = made
            with torch.random.fork_rng(devices=[]):
                reseed(seed, "init/head", task)
                heads[task] = head_cls(encoder.config.hidden_size, spec.n_out,
                                       cfg.task_dropout.get(task, cfg.head_dropout), trunk=trunk)
        self.heads = nn.ModuleDict(heads)
        self.task_layers = nn.ModuleDict()
        if cfg.task_layers:
            layers = encoder.encoder.layer
            if cfg.task_layers > len(layers):
                raise ValueError(f"model.task_layers {cfg.task_layers} exceeds the checkpoint's {len(layers)} layers")
            top = len(layers) - cfg.task_layers
            self.task_layers = nn.ModuleDict({t: copy.deepcopy(layers[top:]) for t in tasks})
            del layers[top:]
        if cfg.encoder_dropout is not None:  # every hidden dropout of the encoder (attention dropout stays)
            encoder.config.hidden_dropout_prob = cfg.encoder_dropout
            for module in encoder.modules():
                if isinstance(module, nn.Dropout):
                    module.p = cfg.encoder_dropout

    def input_form(self, task: str) -> str:
        """How the task's rows are tokenised: "single", "siamese" (a and b apart) or "cross" (a and b in one input)."""
        return self.heads[task].inputs

    def _trunk_users(self, tasks) -> dict[str, int]:
        return {name: sum(self.cfg.heads[t] == name for t in tasks) for name in self.trunks}

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """Every parameter `task`'s loss alone may reach: its head's, its own top layers', and its shared trunk's when
        it has one."""
        params = list(self.heads[task].parameters()) + self._own_layers([task])
        name = self.cfg.heads[task]
        if name in self.trunks:
            params += list(self.trunks[name].parameters())
        return [p for p in params if p.requires_grad]

    def head_parameters(self, tasks) -> list[nn.Parameter]:
        """What only one of `tasks` reaches: their own heads, plus a shared trunk when just one of them uses it."""
        params = [p for t in tasks for p in self.heads[t].parameters()] + self._own_layers(tasks)
        params += [p for name, n in self._trunk_users(tasks).items() if n == 1 for p in self.trunks[name].parameters()]
        return [p for p in params if p.requires_grad]

    def _own_layers(self, tasks) -> list[nn.Parameter]:
        return [p for t in tasks if t in self.task_layers for p in self.task_layers[t].parameters()]

    def shared_parameters(self, tasks) -> list[nn.Parameter]:
        """What several of `tasks` reach: the encoder, and any trunk that two or more of them use."""
        params = list(self.bert.parameters())
        params += [p for name, n in self._trunk_users(tasks).items() if n > 1 for p in self.trunks[name].parameters()]
        return [p for p in params if p.requires_grad]

    def row_sparse_parameters(self) -> list[nn.Parameter]:
        """Parameters whose gradient reaches only the rows a batch looks up: the word embeddings."""
        return [self.bert.embeddings.word_embeddings.weight]

    @contextlib.contextmanager
    def sparse_row_gradients(self, enabled: bool = True):
        """Within: the word-embedding lookups give sparse (looked-up rows only) gradients, so a per-task gradient
        skips the dense vocabulary-sized zeros. For the passes whose task gradients form J; the optimizer needs dense
        .grad, which J's write-back gives."""
        emb = self.bert.embeddings.word_embeddings
        before = emb.sparse
        emb.sparse = enabled
        try:
            yield
        finally:
            emb.sparse = before

    def encode(self, batch: dict[str, torch.Tensor], inputs_embeds: torch.Tensor | None = None) -> Features:
        """Encoder pass; `inputs_embeds` replaces the word embeddings (SMART perturbs them)."""
        mask = batch["attention_mask"]
        hidden, pooled = self.bert(batch["input_ids"], mask, batch["token_type_ids"], inputs_embeds)
        return Features(self.pool(hidden, pooled, mask), hidden, mask)

    def head(self, task: str, features: Features) -> torch.Tensor:
        """The task's output from the shared encoder's features (through the task's own top layers, when it has them)."""
        if task in self.task_layers:
            hidden, mask = features.hidden, features.mask
            for layer in self.task_layers[task]:
                hidden = layer(hidden, key_mask(mask))
            features = Features(self.pool(hidden, self.bert.pooler(hidden), mask), hidden, mask)
        if self.heads[task].inputs == "siamese":
            return self.heads[task](*features.halves())  # collate stacks the a's then the b's
        return self.heads[task](features)

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(task, self.encode(batch))


def tower_state(model: MultitaskModel) -> dict[str, torch.Tensor]:
    """With task layers, the encoder's moved top layers as `bert.encoder.layer.<i>` taken from one task's copies (STS's,
    else the first task's), so the saved weights also load as one whole encoder (transformers, sentence-transformers);
    {} without task layers."""
    if not model.task_layers:
        return {}
    task = "sts" if "sts" in model.task_layers else next(iter(model.task_layers))
    below = len(model.bert.encoder.layer)
    state = {tuple(k.split(".", 1)): v for k, v in model.task_layers[task].state_dict().items()}
    # copies: safetensors refuses tensors that share storage
    return {f"bert.encoder.layer.{below + int(i)}.{rest}": v.detach().clone() for (i, rest), v in state.items()}


def save_multitask(model: MultitaskModel, directory: Path, resolved: dict, tokenizer_files: list[Path]) -> None:
    """Weights (bert.*, heads.*, task_layers.* and the whole-encoder tower) as safetensors, plus the encoder config and
    the resolved run config."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in (model.state_dict() | tower_state(model)).items()}
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    write_json(directory / "config.json", dict(vars(model.bert.config), model_type="bert"))
    write_json(directory / "run.json", resolved)
    for f in tokenizer_files:
        if f.exists():
            (directory / f.name).write_bytes(f.read_bytes())


def load_multitask(directory: Path, cfg: ModelConfig, tasks: list[str]) -> MultitaskModel:
    model = MultitaskModel(BertModel(BertConfig.from_json(directory / "config.json")), cfg, tasks)
    state, tower = load_file(str(directory / "model.safetensors")), tower_state(model)
    model.load_state_dict({k: v for k, v in state.items() if k not in tower})
    return model
