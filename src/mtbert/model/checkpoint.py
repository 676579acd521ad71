"""Load and save BERT checkpoints in hub layout (config.json, vocab.txt, model.safetensors), checking every key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mtbert.io import atomic_path, write_json
from mtbert.model.bert import BertConfig, BertModel, PretrainingHeads

# Parameters a checkpoint may carry that are buffers or duplicates here, not weights.
IGNORED = re.compile(r"^(embeddings\.position_ids|cls\.predictions\.decoder\.bias)$")


class CheckpointError(ValueError):
    """A checkpoint whose keys or shapes do not fit the model."""


def normalise_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip the optional `bert.` prefix and map old LayerNorm names (gamma/beta) to weight/bias."""
    out = {}
    for key, value in state.items():
        key = key.removeprefix("bert.")
        key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
        key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        out[key] = value
    # Older checkpoints lack cls.predictions.decoder.bias: it is the same tensor as cls.predictions.bias.
    if "cls.predictions.bias" in out:
        out.setdefault("cls.predictions.decoder.bias", out["cls.predictions.bias"])
    return out


class Pretrained(torch.nn.Module):
    """An encoder, plus BERT's MLM/NSP heads when asked for: the state-dict layout of a hub checkpoint."""

    def __init__(self, cfg: BertConfig, with_heads: bool):
        super().__init__()
        self.bert = BertModel(cfg)
        self.cls = PretrainingHeads(cfg, self.bert.embeddings.word_embeddings) if with_heads else None


def load_pretrained(directory: Path | str, with_heads: bool = False) -> tuple[BertModel, PretrainingHeads | None, dict]:
    """Encoder (and MLM/NSP heads, loaded when present, fresh and tied otherwise) from a hub-layout directory.

    Returns (encoder, heads or None, report) where report lists the keys that were ignored or freshly initialised.
    """
    directory = Path(directory)
    cfg = BertConfig.from_json(directory / "config.json")
    weights = directory / "model.safetensors"
    if not weights.exists():
        raise CheckpointError(f"{weights}: not found (hub layout needs model.safetensors)")
    state = normalise_keys(load_file(str(weights)))
    model = Pretrained(cfg, with_heads)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    encoder_keys = {k for k in expected if not k.startswith("cls.")}
    wanted = {("bert." + k if not k.startswith("cls.") else k): v for k, v in state.items()}

    missing = sorted(k.removeprefix("bert.") for k in encoder_keys if k not in wanted)
    unexpected = sorted(k for k in wanted if k not in expected and not IGNORED.match(k.removeprefix("bert."))
                        and not (k.startswith("cls.") and not with_heads))
    wrong = sorted(f"{k}: checkpoint {tuple(wanted[k].shape)} vs model {tuple(expected[k])}"
                   for k in wanted if k in expected and wanted[k].shape != expected[k])
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{weights}: does not fit a BERT of {directory / 'config.json'}; "
            f"missing {missing or 'none'}; unexpected {unexpected or 'none'}; wrong shapes {wrong or 'none'}"
        )
    loadable = {k: v for k, v in wanted.items() if k in expected}
    result = model.load_state_dict(loadable, strict=False)
    # the decoder weight is tied to the word embeddings, so it is never fresh
    fresh = sorted(k for k in result.missing_keys if k.startswith("cls.") and k != "cls.predictions.decoder.weight")
    ignored = sorted(k for k in wanted if k not in expected)
    return model.bert, model.cls, {"fresh": fresh, "ignored": ignored, "config": cfg}


def save_pretrained(encoder: BertModel, directory: Path | str, heads: PretrainingHeads | None = None,
                    vocab: Path | None = None, extra_config: dict | None = None) -> None:
    """Write a hub-layout checkpoint (`bert.`-prefixed weights) that `load_pretrained` and transformers both read."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {f"bert.{k}": v for k, v in encoder.state_dict().items()}
    if heads is not None:
        state.update({f"cls.{k}": v for k, v in heads.state_dict().items() if not k.startswith("predictions.decoder.weight")})
    # safetensors refuses tensors that share memory: store each once, contiguous
    state = {k: v.detach().clone().contiguous() for k, v in state.items()}
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    cfg = dict(vars(encoder.config), model_type="bert", architectures=["BertModel"]) | (extra_config or {})
    write_json(directory / "config.json", cfg)
    if vocab is not None:
        shutil.copyfile(vocab, directory / "vocab.txt")
