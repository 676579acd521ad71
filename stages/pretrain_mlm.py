"""DVC stage: further MLM + NSP pretraining of the encoder on IMDB reviews (models/pretrained, dvclive/pretrain_mlm).

pretrain_heads and finetune start from this encoder when it exists. Disabled, the stage writes only markers, so
the chain stays one DAG at no cost. Data parallel under `torchrun --nproc_per_node N stages/pretrain_mlm.py`: only
rank 0 writes.
"""

import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from dvclive import Live
from mtbert.config import load_params, run_stage, section
from mtbert.config.model import ModelConfig
from mtbert.config.pretrain import PretrainConfig
from mtbert.data.imdb import read_reviews
from mtbert.data.sources import checkpoint_dir
from mtbert.io import atomic_dir, stage_disabled, write_json
from mtbert.model.checkpoint import load_pretrained, save_pretrained
from mtbert.pretrain.examples import nsp_pairs
from mtbert.pretrain.loop import Masker, encode_pairs, pretrain, sentence_docs
from mtbert.text.tokenizer import Tokenizer
from mtbert.train import distributed
from mtbert.train.state import StateStore, fingerprint, stage_deps

OUT = Path("models/pretrained")
LIVE = Path("dvclive/pretrain_mlm")
ARCHIVE = Path("data/raw/imdb/aclImdb_v1.tar.gz")
STATE = Path(".state/pretrain_mlm")  # not a DVC output: DVC leaves it alone between a killed run and its rerun


def main() -> None:
    params = load_params()
    cfg = section(params, "pretrain_mlm", PretrainConfig)
    if stage_disabled(cfg.enabled, OUT, LIVE, why="pretrain_mlm disabled: the encoder is the downloaded checkpoint"):
        return
    checkpoint = section(params, "model", ModelConfig, only=("checkpoint",)).checkpoint
    source = Path("data/raw") / checkpoint_dir(checkpoint)
    rng = np.random.default_rng(cfg.seed)
    reviews = read_reviews(ARCHIVE, cfg.splits)
    order = rng.permutation(len(reviews))
    if cfg.max_reviews is not None:
        order = order[:cfg.max_reviews + cfg.heldout_reviews]
    held, kept = order[:cfg.heldout_reviews], order[cfg.heldout_reviews:]
    tokenizer = Tokenizer.from_checkpoint(source, cfg.max_length)
    max_words = cfg.max_length * 3 // 8  # about half the tokens per segment, at ~1.3 WordPieces a word
    examples = {}
    for name, idx in (("train", kept), ("heldout", held)):
        pairs = nsp_pairs(sentence_docs([reviews[i][1] for i in idx]), rng, max_words)
        examples[name] = encode_pairs(pairs, tokenizer)
    print({k: len(v) for k, v in examples.items()}, "segment pairs from", len(order), "reviews")
    torch.manual_seed(cfg.seed)  # fresh MLM/NSP heads: the same seed must give the same initial weights
    encoder, heads, report = load_pretrained(source, with_heads=True)
    if report["fresh"]:
        print(f"{source}: no MLM/NSP heads in the checkpoint; starting them fresh (decoder tied to the word embeddings)")
    store = StateStore(STATE, fingerprint("pretrain_mlm", {"checkpoint": checkpoint, "pretrain_mlm": params["pretrain_mlm"]},
                                          stage_deps("pretrain_mlm")), cfg.save_state_every)
    ranks = distributed.setup(cfg.backend)
    if not ranks.is_main:
        pretrain(encoder, heads, examples["train"], examples["heldout"], Masker(tokenizer, cfg.mask_prob), cfg,
                 ranks.device(), None, ranks, store)
        distributed.teardown(ranks)
        return
    with Live(str(LIVE), dvcyaml=False, save_dvc_exp=False) as live, atomic_dir(OUT) as out:
        history = pretrain(encoder, heads, examples["train"], examples["heldout"], Masker(tokenizer, cfg.mask_prob),
                           cfg, ranks.device(), live, ranks, store)
        distributed.teardown(ranks)
        save_pretrained(encoder.cpu(), out, heads.cpu(), vocab=source / "vocab.txt")
        if (source / "tokenizer_config.json").exists():
            shutil.copyfile(source / "tokenizer_config.json", out / "tokenizer_config.json")
        write_json(out / "pretrain.json", {"config": asdict(cfg), "from": checkpoint, "fresh_heads": report["fresh"],
                                           "reviews": {"train": len(kept), "heldout": len(held)},
                                           "pairs": {k: len(v) for k, v in examples.items()}, "history": history})
    print("held-out before/after:", history[0], history[-1])


if __name__ == "__main__":
    run_stage(main)
