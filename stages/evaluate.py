"""DVC stage: dev and test metrics per task and overall (metrics.json: the headline numbers DVC shows), their 95%
bootstrap intervals (intervals.json) and prediction files per task and split."""

import json
from pathlib import Path

import pandas as pd

from mtbert.config import load_params, run_stage, section
from mtbert.config.evaluate import EvaluateConfig
from mtbert.config.model import ModelConfig
from mtbert.data.batching import load_task
from mtbert.device import pick_device
from mtbert.eval import predict as P
from mtbert.eval.confidence import bootstrap_ci
from mtbert.io import atomic_dir, write_json
from mtbert.model.multitask import TASK_SPECS, load_multitask
from mtbert.text.tokenizer import Tokenizer

CHECKPOINT = Path("models/finetuned")


def main() -> None:
    cfg = section(load_params(), "evaluate", EvaluateConfig)
    run = json.loads((CHECKPOINT / "run.json").read_text())  # the checkpoint says how it was built
    mcfg = section(run, "model", ModelConfig, source=str(CHECKPOINT / "run.json"))
    tasks = run["train"]["tasks"]
    tokenizer = Tokenizer.from_checkpoint(CHECKPOINT, mcfg.max_length)
    device = pick_device()
    model = load_multitask(CHECKPOINT, mcfg, tasks).to(device)
    results, ci = {}, {}
    with atomic_dir("predictions") as out:
        for split in cfg.splits:
            scores, outputs = {}, {}
            for task in tasks:
                data = load_task(Path("data/prepared"), tokenizer, task, split, model.input_form(task))
                raw = P.outputs(model, data, cfg.batch_size, tokenizer.pad_id, device)
                preds = TASK_SPECS[task].predict(raw).astype(float)
                scores[task] = P.score(task, preds, data.labels)
                if scores[task] is not None:
                    outputs[task] = (preds, data.labels)
                # class probabilities (SST) or the paraphrase probability (Quora) beside the prediction, for the report
                extra = {k: v for k, v in P.readable(task, raw).items() if k not in ("label", "similarity")}
                pd.DataFrame({"id": data.ids, "prediction": preds, "label": data.labels, **extra}).to_csv(
                    out / f"{task}-{split}.csv", index=False)
            results[split] = P.summary(scores)
            ci[split] = bootstrap_ci(outputs, cfg.bootstrap.resamples, cfg.bootstrap.seed)
    write_json("metrics.json", results)
    write_json("intervals.json", {"ci95": ci, "bootstrap": {"resamples": cfg.bootstrap.resamples, "seed": cfg.bootstrap.seed}})
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    run_stage(main)
