"""DVC stage: train the task heads on a frozen encoder (the reports' head pretraining); finetune starts from them.

Disabled, it writes only a marker, so the chain stays one DAG at no cost.
"""

import dataclasses
from pathlib import Path

from dvclive import Live
from mtbert.config import load_params, run_stage, section
from mtbert.config.model import ModelConfig
from mtbert.config.pretrain import HeadPretrainConfig, HeadTrainKeys
from mtbert.config.train import TrainConfig
from mtbert.io import atomic_dir, stage_disabled
from mtbert.train import setup
from mtbert.train.loop import resolved_config, train

OUT = Path("models/heads")
LIVE = Path("dvclive/pretrain_heads")
FEATURES = Path(".state/features")  # the frozen encoder's outputs, shared with every later frozen run


def main() -> None:
    params = load_params()
    cfg = section(params, "pretrain_heads", HeadPretrainConfig)
    if stage_disabled(cfg.enabled, OUT, LIVE, why="pretrain_heads disabled: finetune starts from fresh heads"):
        return
    shared = section(params, "train", HeadTrainKeys, only=("tasks", "seed", "max_train_examples", "eval_batch_size"))
    mcfg = section(params, "model", ModelConfig)
    # on the whole frozen encoder: what every task computes when fine-tuning starts, with task layers (copies) or not
    run = setup.build(dataclasses.replace(mcfg, task_layers=0), shared.tasks, shared.max_train_examples, shared.seed)
    tcfg = TrainConfig(mode="frozen", tasks=shared.tasks, epochs=cfg.epochs, epoch=cfg.epoch, steps_per_epoch=cfg.steps_per_epoch,
                       batch_size=cfg.batch_size, head_lr=cfg.lr, lr_schedule=cfg.lr_schedule,
                       warmup_ratio=cfg.warmup_ratio, seed=shared.seed, eval_batch_size=shared.eval_batch_size,
                       grad_diagnostics_every=0)
    with Live(str(LIVE), dvcyaml=False, save_dvc_exp=False) as live, atomic_dir(OUT) as out:
        best = train(run.model, run.train, run.dev, tcfg, out, live, run.tokenizer.pad_id,
                     resolved_config(model=mcfg, train=tcfg), run.tokenizer_files, feature_store=FEATURES)
    print("heads pretrained; best on dev:", best)


if __name__ == "__main__":
    run_stage(main)
