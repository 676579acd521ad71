"""DVC stage: multi-task fine-tuning; the best-on-dev checkpoint in models/finetuned, curves in dvclive/finetune."""

from pathlib import Path

from dvclive import Live

from mtbert.config import load_params, section
from mtbert.data.batching import load_task
from mtbert.data.sources import checkpoint_dir
from mtbert.io import atomic_dir
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import TASK_SPECS, ModelConfig, MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.loop import TrainConfig, resolved_config, train

PREPARED = Path("data/prepared")


def main() -> None:
    params = load_params()
    mcfg = section(params, "model", ModelConfig)
    tcfg = section(params, "train", TrainConfig)
    source = Path("data/raw") / checkpoint_dir(mcfg.checkpoint)
    tokenizer = Tokenizer.from_checkpoint(source, mcfg.max_length)
    encoder, _, _ = load_pretrained(source)
    model = MultitaskModel(encoder, mcfg, tcfg.tasks)
    data = {
        split: {t: load_task(PREPARED, tokenizer, t, split, TASK_SPECS[t].pair, tcfg.max_train_examples if split == "train" else None, tcfg.seed)
                for t in tcfg.tasks}
        for split in ("train", "dev")
    }
    files = [source / "vocab.txt", source / "tokenizer_config.json"]
    with Live("dvclive/finetune", dvcyaml=False, save_dvc_exp=False) as live, atomic_dir("models/finetuned") as out:
        best = train(model, data["train"], data["dev"], tcfg, out, live, tokenizer.pad_id,
                     resolved_config(model=mcfg, train=tcfg), files)
    print("best on dev:", best)


if __name__ == "__main__":
    main()
