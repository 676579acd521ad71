"""The model card (README.md) of a fine-tuned checkpoint: what it is, how to load it, the data and recipe it was
trained with, its dev metrics with 95% bootstrap intervals at the epoch kept, and its limitations."""

from __future__ import annotations

CONTAMINATED = "sentence-transformers/all-MiniLM-L6-v2"  # trained on Quora duplicates, among others
METRIC_NAMES = {"sst_acc": "SST accuracy", "quora_acc": "Quora accuracy", "sts_pearson": "STS Pearson r",
                "overall": "overall"}


def render_card(resolved: dict, best: dict, intervals: dict[str, dict[str, float]] | None) -> str:
    """README.md for models/finetuned from the run's resolved config (run.json), the best-on-dev metrics and their
    intervals (eval.confidence.bootstrap_ci on that epoch's dev predictions)."""
    model, train = resolved["model"], resolved["train"]
    tasks = list(train["tasks"])
    rows = []
    for key, name in METRIC_NAMES.items():
        if key in best and best[key] is not None:
            ci = (intervals or {}).get(key)
            rows.append(f"| {name} | {best[key]:.4f} | " + (f"[{ci['low']:.4f}, {ci['high']:.4f}]" if ci else "–") + " |")
    limits = ["Quora: offline, a leak-free re-split of CS224N's `quora-dev.csv`, not the CS224N Quora split; its numbers "
              "are not comparable with published ones." if "quora" in tasks else ""]
    if model["checkpoint"] == CONTAMINATED:
        limits.append(f"`{CONTAMINATED}` was trained on Quora duplicate questions (and other paraphrase data): Quora "
                      "results from it are contaminated.")
    limits.append("Dev metrics pick the epoch kept, so they are optimistic; test metrics are the evaluate stage's "
                  "(`metrics.json`, `intervals.json` of the same run). One run, one seed: seed-to-seed spread is not "
                  "in these intervals (the studies measure it).")
    front = ["---", "library_name: sentence-transformers", "pipeline_tag: sentence-similarity",
             f"base_model: {model['checkpoint']}", "tags:", "- sentence-transformers", "- multi-task", "- mtbert", "---"]
    heads = ", ".join(f"{t}: `{model['heads'][t]}`" for t in tasks)
    return "\n".join(front + [
        "", f"# {model['checkpoint'].split('/')[-1]} fine-tuned on {', '.join(t.upper() for t in tasks)} (mtbert)", "",
        f"One BERT encoder fine-tuned on several sentence tasks at once by mtbert, with a head per task ({heads}); "
        f"sentence embeddings are the encoder's `{model['pooling']}` pooling, the input every head reads.", "",
        "```python",
        "from sentence_transformers import SentenceTransformer",
        "model = SentenceTransformer(\"models/finetuned\")  # the encoder and its pooling",
        "from mtbert.predict import Predictor",
        "Predictor.load(\"models/finetuned\").sts([(\"A man plays a guitar.\", \"A man is playing guitar.\")])  # with the heads",
        "```", "",
        "The task heads alone: `heads.safetensors` and `heads.json`.", "",
        "## Training", "",
        f"- encoder: `{model['checkpoint']}` (revision `{model['revision']}`), max length {model['max_length']}",
        f"- tasks: {', '.join(tasks)}; method `{train['method']}`, schedule `{train['schedule']}`, mode `{train['mode']}`",
        f"- {train['epochs']} epochs at most (`{train['epoch']}` epochs), batch {train['batch_size']} per task, encoder "
        f"lr {train['lr']}, heads {train['head_lr']}, seed {train['seed']}",
        f"- kept: epoch {best.get('epoch')}, the best on dev by the overall score", "",
        "## Dev metrics at the epoch kept", "",
        "| metric | value | 95% bootstrap interval |", "|---|---|---|", *rows,
        "", "Overall = (SST acc + Quora acc + (STS r + 1) / 2) / 3.", "",
        "## Limitations", "", *[f"- {line}" for line in limits if line], ""])
