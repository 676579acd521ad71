"""What the training stages share: tokenizer, model and tokenised data from the params' model and data sections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file

from mtbert.data.batching import TaskData, load_task
from mtbert.data.sources import checkpoint_dir
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import TASK_SPECS, ModelConfig, MultitaskModel
from mtbert.text.tokenizer import Tokenizer

RAW = Path("data/raw")
PREPARED = Path("data/prepared")


@dataclass
class Setup:
    tokenizer: Tokenizer
    model: MultitaskModel
    train: dict[str, TaskData]
    dev: dict[str, TaskData]
    tokenizer_files: list[Path]


def build(mcfg: ModelConfig, tasks: list[str], max_train_examples: int | None, seed: int,
          raw: Path = RAW, prepared: Path = PREPARED) -> Setup:
    source = raw / checkpoint_dir(mcfg.checkpoint)
    tokenizer = Tokenizer.from_checkpoint(source, mcfg.max_length)
    encoder, _, _ = load_pretrained(source)
    model = MultitaskModel(encoder, mcfg, tasks)
    data = {split: {t: load_task(prepared, tokenizer, t, split, TASK_SPECS[t].pair,
                                 max_train_examples if split == "train" else None, seed) for t in tasks}
            for split in ("train", "dev")}
    return Setup(tokenizer, model, data["train"], data["dev"], [source / "vocab.txt", source / "tokenizer_config.json"])


def load_heads(model: MultitaskModel, checkpoint: Path) -> list[str]:
    """Take the task heads (not the encoder) from a saved multitask checkpoint; returns the tasks loaded."""
    state = load_file(str(checkpoint / "model.safetensors"))
    loaded = []
    for task, head in model.heads.items():
        prefix = f"heads.{task}."
        part = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        if part or not list(head.parameters()):
            head.load_state_dict(part)
            loaded.append(task)
    return loaded
