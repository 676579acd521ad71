"""What the training stages share: tokenizer, model and tokenised data from the params' model and data sections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file

from mtbert.config.model import ModelConfig
from mtbert.config.train import PhrasesConfig
from mtbert.data.batching import TaskData, load_task
from mtbert.data.sources import checkpoint_dir
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.phrases import training_phrases

RAW = Path("data/raw")
PREPARED = Path("data/prepared")
AUGMENTED = Path("data/augmented")  # the augment stage's training tables; a DISABLED.json marker when off
PRETRAINED = Path("models/pretrained")  # the pretrain_mlm stage's encoder; a DISABLED.json marker when off


@dataclass
class Setup:
    tokenizer: Tokenizer
    model: MultitaskModel
    source: Path  # where the encoder came from
    train: dict[str, TaskData]
    dev: dict[str, TaskData]
    tokenizer_files: list[Path]


def encoder_source(mcfg: ModelConfig, raw: Path = RAW, pretrained: Path = PRETRAINED) -> Path:
    """The further-pretrained encoder when pretrain_mlm wrote one, else the downloaded checkpoint."""
    return pretrained if (pretrained / "model.safetensors").exists() else raw / checkpoint_dir(mcfg.checkpoint)


def train_table(task: str, augmented: Path = AUGMENTED) -> Path | None:
    """The augmented training table of `task` when the augment stage wrote one."""
    path = augmented / task / "train.csv"
    return path if path.exists() else None


def build(mcfg: ModelConfig, tasks: list[str], max_train_examples: int | None, seed: int,
          raw: Path = RAW, prepared: Path = PREPARED, augmented: Path = AUGMENTED, pretrained: Path = PRETRAINED,
          phrases: PhrasesConfig | None = None) -> Setup:
    source = encoder_source(mcfg, raw, pretrained)
    tokenizer = Tokenizer.from_checkpoint(source, mcfg.max_length)
    encoder, _, _ = load_pretrained(source)
    model = MultitaskModel(encoder, mcfg, tasks, seed)  # fresh heads: the same seed gives the same initial weights
    extra = {"sst": training_phrases(prepared, phrases, seed)} if phrases is not None and "sst" in tasks else {}
    train = {t: load_task(prepared, tokenizer, t, "train", model.input_form(t), max_train_examples, seed,
                          table=train_table(t, augmented), extra=extra.get(t)) for t in tasks}
    if extra.get("sst") is not None:
        print(f"SST trains on {len(extra['sst'])} tree phrases beside its sentences")
    dev = {t: load_task(prepared, tokenizer, t, "dev", model.input_form(t)) for t in tasks}
    augmented_tasks = [t for t in tasks if train_table(t, augmented)]
    if augmented_tasks:
        print("training on augmented tables:", augmented_tasks)
    return Setup(tokenizer, model, source, train, dev, [source / "vocab.txt", source / "tokenizer_config.json"])


def load_heads(model: MultitaskModel, checkpoint: Path) -> list[str]:
    """Take the task heads (not the encoder) from a saved multitask checkpoint; returns the tasks loaded."""
    state = load_file(str(checkpoint / "model.safetensors"))
    loaded = []
    for name, trunk in model.trunks.items():
        prefix = f"trunks.{name}."
        part = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        if part:
            trunk.load_state_dict(part)
    for task, head in model.heads.items():
        prefix = f"heads.{task}."
        part = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        if part or not list(head.parameters()):
            head.load_state_dict(part)
            loaded.append(task)
    return loaded
