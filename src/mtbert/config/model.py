"""The `model` section: the checkpoint, pooling, heads, dropout and input length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from mtbert.config.types import SECTION, Dropout, Int, NonNegativeInt, TaskName, param, registered

PoolingName = registered("pooling", "mtbert.model.pooling", "POOLINGS")
HeadName = registered("head", "mtbert.model.heads", "HEADS")


@dataclass
class ModelConfig:
    checkpoint: str = param(
        "sentence-transformers/all-MiniLM-L6-v2",
        "a hub id: sentence-transformers/..., google-bert/...")
    revision: str = param("main", "the hub revision fetched online")
    pooling: PoolingName = param("mean", "sentence embedding from the encoder's tokens")
    max_length: Annotated[Int, Field(ge=8, le=512)] = param(128, "tokens per input, longer ones truncated")
    head_dropout: Dropout = param(0.1, "dropout before every head's layers")
    task_dropout: dict[TaskName, Dropout] = param(factory=dict, about="per-task head dropout over head_dropout")
    encoder_dropout: Dropout | None = param(None, "the encoder's hidden dropout; null: the checkpoint's")
    task_layers: NonNegativeInt = param(
        0,
        "the encoder's top k layers copied per task, each task training its own copy on its own loss (the layers below "
        "stay shared); 0: everything shared")
    heads: dict[TaskName, HeadName] = param(
        factory=lambda: {"sst": "linear", "quora": "siamese_concat", "sts": "cosine_sbert", "cfimdb": "linear"},
        about="per task")
    __pydantic_config__ = SECTION

    def __post_init__(self) -> None:
        """Refuse, when params load, a head that does not fit its task (e.g. quora: cosine)."""
        from mtbert.model.heads import HEADS  # the heads' code says which tasks each fits

        for task, name in self.heads.items():
            head_cls = HEADS[name]
            if task not in head_cls.tasks:
                fits = sorted(n for n in HEADS.names() if task in HEADS[n].tasks)
                raise ValueError(f"heads.{task}: head '{name}' is for {list(head_cls.tasks)}, not {task}; "
                                 f"heads for {task}: {fits}")
