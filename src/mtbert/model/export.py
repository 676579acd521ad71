"""A fine-tuned checkpoint laid out for the ecosystem: the files sentence-transformers reads (modules.json, the
pooling config, a tanh Dense for BERT's pooler) beside ours, and the task heads on their own (heads.safetensors,
heads.json), so the encoder loads with `SentenceTransformer(path)` and the heads with safetensors alone."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from mtbert.io import atomic_path, write_json

# model.pooling -> (sentence-transformers pooling mode, whether BERT's tanh pooler follows as a Dense module)
POOLING_MODES = {"mean": ("mean", False), "max": ("max", False), "cls_raw": ("cls", False), "cls": ("cls", True)}


def sentence_transformers_modules(pooling: str) -> list[dict]:
    """modules.json: the encoder at the folder's root, its pooling, and for `cls` the pooler as a Dense + tanh."""
    if pooling not in POOLING_MODES:
        raise ValueError(f"model.pooling={pooling!r} has no sentence-transformers equivalent; known: {sorted(POOLING_MODES)}")
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if POOLING_MODES[pooling][1]:
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    return modules


def write_sentence_transformers(model, directory: Path, max_length: int) -> None:
    """The sentence-transformers files for `model` (a MultitaskModel) into `directory`, which already holds its
    config.json, weights and tokenizer: the embedding sentence-transformers computes is the one our heads read (with
    model.task_layers, the one STS's head reads: the weights hold STS's tower whole, multitask.tower_state)."""
    pooling, hidden = model.cfg.pooling, model.bert.config.hidden_size
    mode, pooler = POOLING_MODES.get(pooling, (None, False))
    write_json(directory / "modules.json", sentence_transformers_modules(pooling))
    write_json(directory / "sentence_bert_config.json", {"max_seq_length": max_length, "do_lower_case": False})
    write_json(directory / "config_sentence_transformers.json", {"similarity_fn_name": "cosine"})
    (directory / "1_Pooling").mkdir(exist_ok=True)
    write_json(directory / "1_Pooling" / "config.json",
               {"word_embedding_dimension": hidden, "pooling_mode_cls_token": mode == "cls",
                "pooling_mode_mean_tokens": mode == "mean", "pooling_mode_max_tokens": mode == "max",
                "pooling_mode_mean_sqrt_len_tokens": False})
    if pooler:
        dense = model.bert.pooler.dense
        (directory / "2_Dense").mkdir(exist_ok=True)
        write_json(directory / "2_Dense" / "config.json",
                   {"in_features": hidden, "out_features": hidden, "bias": True,
                    "activation_function": "torch.nn.modules.activation.Tanh"})
        _save(directory / "2_Dense" / "model.safetensors",
              {"linear.weight": dense.weight, "linear.bias": dense.bias})


def write_heads(model, directory: Path) -> None:
    """heads.safetensors (each task head's weights under `<task>.`) and heads.json
    (what each head is and reads), loadable without this package."""
    # a shared trunk sits inside each head that uses it: its weights appear under every such head
    tensors = {f"{task}.{name}": p.clone() for task, head in model.heads.items() for name, p in head.state_dict().items()}
    _save(directory / "heads.safetensors", tensors)
    write_json(directory / "heads.json", {
        "pooling": model.cfg.pooling, "heads": {t: model.cfg.heads[t] for t in model.heads},
        "inputs": {t: head.inputs for t, head in model.heads.items()},
        "about": "each head reads the sentence embedding (siamese: one per sentence; cross: the pair encoded "
                 "together); weights as in mtbert.model.heads, loaded by mtbert.predict.Predictor"})


def _save(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata={"format": "pt"})
