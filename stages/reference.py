"""DVC stage: what no fine-tuning gives (frozen masked-mean embeddings of the checkpoint; the majority class), on dev
and test, into reference.json, read beside every fine-tuned number (not a DVC metric: no run changes it)."""

from pathlib import Path

from mtbert.config import load_params, run_stage, section
from mtbert.config.evaluate import ReferenceConfig
from mtbert.config.model import ModelConfig
from mtbert.data.batching import load_task
from mtbert.data.sources import checkpoint_dir
from mtbert.eval.reference import majority, no_finetuning
from mtbert.io import write_json
from mtbert.model.checkpoint import load_pretrained
from mtbert.text.tokenizer import Tokenizer

PREPARED = Path("data/prepared")
FORMS = {"sst": "single", "quora": "siamese", "sts": "siamese"}


def main() -> None:
    params = load_params()
    cfg = section(params, "reference", ReferenceConfig)
    mcfg = section(params, "model", ModelConfig, only=("checkpoint", "max_length"))
    source = Path("data/raw") / checkpoint_dir(mcfg.checkpoint)
    tokenizer = Tokenizer.from_checkpoint(source, mcfg.max_length)
    encoder, _, _ = load_pretrained(source)
    train = {t: load_task(PREPARED, tokenizer, t, "train", form) for t, form in FORMS.items()}
    splits = {s: {t: load_task(PREPARED, tokenizer, t, s, form) for t, form in FORMS.items()} for s in ("dev", "test")}
    scores, chosen = no_finetuning(encoder, train, splits, tokenizer.pad_id, cfg)
    result = {"no_finetuning": scores, "majority": majority(train, splits), "chosen_on_train": chosen,
              "checkpoint": mcfg.checkpoint, "pooling": "mean (masked), frozen"}
    write_json("reference.json", result)
    print(result)


if __name__ == "__main__":
    run_stage(main)
