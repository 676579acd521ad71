"""DVC stage: multi-task fine-tuning; the best-on-dev checkpoint in models/finetuned, curves in dvclive/finetune.

Data parallel under `torchrun --nproc_per_node N stages/finetune.py`: only rank 0 writes."""

import contextlib
from pathlib import Path

from dvclive import Live
from mtbert.config import load_params, run_stage, section
from mtbert.config.model import ModelConfig
from mtbert.config.train import TrainConfig
from mtbert.io import atomic_dir
from mtbert.train import distributed, setup
from mtbert.train.loop import resolved_config, train
from mtbert.train.state import StateStore, fingerprint, stage_deps

HEADS = Path("models/heads")
STATE = Path(".state/finetune")  # not a DVC output: DVC leaves it alone between a killed run and its rerun
FEATURES = Path(".state/features")  # a frozen encoder's outputs, shared by every frozen run from the same encoder


def main() -> None:
    params = load_params()
    mcfg = section(params, "model", ModelConfig)
    tcfg = section(params, "train", TrainConfig)
    run = setup.build(mcfg, tcfg.tasks, tcfg.max_train_examples, tcfg.seed, phrases=tcfg.sst_phrases)
    resolved = resolved_config(model=mcfg, train=tcfg)
    resolved["encoder_from"] = str(run.source)
    resolved["augmented"] = [t for t in tcfg.tasks if setup.train_table(t)]
    if (HEADS / "model.safetensors").exists():
        resolved["heads_from"] = {"checkpoint": str(HEADS), "tasks": setup.load_heads(run.model, HEADS)}
        print("starting from pretrained heads:", resolved["heads_from"]["tasks"])
    store = StateStore(STATE, fingerprint("finetune", {"model": params["model"], "train": params["train"]},
                                          stage_deps("finetune")), tcfg.save_state_every)
    ranks = distributed.setup(tcfg.backend)
    resolved["world_size"] = ranks.world
    main_rank = ranks.is_main
    with (Live("dvclive/finetune", dvcyaml=False, save_dvc_exp=False) if main_rank else contextlib.nullcontext()) as live, \
            (atomic_dir("models/finetuned") if main_rank else contextlib.nullcontext()) as out:
        best = train(run.model, run.train, run.dev, tcfg, out, live, run.tokenizer.pad_id, resolved, run.tokenizer_files,
                     ranks, store, FEATURES)
    distributed.teardown(ranks)
    if main_rank:
        print("best on dev:", best)


if __name__ == "__main__":
    run_stage(main)
