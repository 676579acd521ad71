"""Where the trained model errs on dev: SST's confusion matrix, STS predicted against gold, Quora's reliability curve,
and the worst dev errors of each task with their sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix

from mtbert.report.plots import _save, plt

TEXTS = {"sst": ["sentence"], "quora": ["sentence1", "sentence2"], "sts": ["sentence1", "sentence2"]}


def dev_rows(predictions: Path, prepared: Path, task: str) -> pd.DataFrame:
    """A task's dev predictions (evaluate's file) joined with its sentences, labelled rows only."""
    preds = pd.read_csv(predictions / f"{task}-dev.csv", dtype={"id": str})
    texts = pd.read_csv(prepared / task / "dev.csv", dtype={"id": str})[["id", *TEXTS[task]]]
    return preds.merge(texts, on="id", how="left", validate="one_to_one").dropna(subset=["label"])


def error_size(task: str, rows: pd.DataFrame) -> pd.Series:
    """How wrong each row is: 1 - p(gold class) for SST, |p - label| for Quora, |prediction - gold| for STS."""
    if task == "sst":
        return 1.0 - rows[[f"p{k}" for k in range(5)]].to_numpy()[np.arange(len(rows)), rows["label"].astype(int)]
    if task == "quora":
        return (rows["probability"] - rows["label"]).abs()
    return (rows["prediction"] - rows["label"]).abs()


def worst(task: str, rows: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The `n` largest errors, largest first (ties in file order); SST and Quora count only wrong predictions."""
    ranked = rows.assign(error=error_size(task, rows))
    if task != "sts":
        ranked = ranked[ranked["prediction"] != ranked["label"]]
    return ranked.sort_values("error", ascending=False, kind="stable").head(n)


def confusion_figure(rows: pd.DataFrame, target: Path) -> Path:
    labels = list(range(5))
    matrix = confusion_matrix(rows["label"].astype(int), rows["prediction"].astype(int), labels=labels)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(matrix, cmap="Blues")
    for i in labels:
        for j in labels:
            ax.text(j, i, matrix[i, j], ha="center", va="center", color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set(xlabel="predicted class", ylabel="gold class", xticks=labels, yticks=labels)
    return _save(fig, target, f"SST dev: confusion matrix (accuracy {np.trace(matrix) / matrix.sum():.3f})")


def sts_figure(rows: pd.DataFrame, target: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.scatter(rows["label"], rows["prediction"], s=6, alpha=0.4)
    ax.plot([0, 5], [0, 5], color="grey", linewidth=1)
    ax.set(xlabel="gold similarity", ylabel="predicted similarity", xlim=(-0.2, 5.2))
    r = np.corrcoef(rows["label"], rows["prediction"])[0, 1]
    return _save(fig, target, f"STS dev: predicted against gold (Pearson r {r:.3f})")


def reliability_figure(rows: pd.DataFrame, target: Path, bins: int = 10) -> Path:
    """Fraction of paraphrases against the mean predicted probability per bin (a calibrated model lies on the
    diagonal), with how many pairs each bin holds."""
    true, predicted = calibration_curve(rows["label"].astype(int), rows["probability"], n_bins=bins)
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(4.6, 5), height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=1)
    ax.plot(predicted, true, marker="o")
    ax.set(ylabel="fraction that are paraphrases")
    hist.hist(rows["probability"], bins=bins, range=(0, 1))
    hist.set(xlabel="predicted paraphrase probability", ylabel="pairs")
    return _save(fig, target, "Quora dev: reliability")


FIGURES = {"sst": confusion_figure, "sts": sts_figure, "quora": reliability_figure}


def placeholder_figure(task: str, target: Path) -> Path:
    """The figure of a task this run did not train (the stage's outputs exist whatever the run's tasks)."""
    fig, ax = plt.subplots(figsize=(4.6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{task}: not trained in this run", ha="center", va="center")
    return _save(fig, target, "")


def _quote(text: str) -> str:
    return str(text).replace("|", "\\|")


def errors_section(rows: dict[str, pd.DataFrame], figures: dict[str, str], n: int = 10) -> str:
    """The markdown: each task's figure and its `n` worst dev errors."""
    parts = ["## Errors on dev", "",
             "From `predictions/<task>-dev.csv` (evaluate's per-row outputs) and the prepared dev sentences."]
    for task, table in rows.items():
        parts += ["", f"### {task.upper()}", "", f"![{task} dev errors]({figures[task]})", "",
                  f"The {n} worst dev errors " + {"sst": "(wrong class, lowest probability on the gold class first):",
                                                  "quora": "(wrong label, most confident first):",
                                                  "sts": "(largest |predicted − gold| first):"}[task], ""]
        head = TEXTS[task] + (["gold", "predicted", "p(gold)"] if task == "sst" else
                              ["gold", "p(paraphrase)"] if task == "quora" else ["gold", "predicted"])
        parts += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for _, r in worst(task, table, n).iterrows():
            texts = [_quote(r[c]) for c in TEXTS[task]]
            if task == "sst":
                values = [f"{int(r['label'])}", f"{int(r['prediction'])}", f"{1 - r['error']:.3f}"]
            elif task == "quora":
                values = [f"{int(r['label'])}", f"{r['probability']:.3f}"]
            else:
                values = [f"{r['label']:.2f}", f"{r['prediction']:.2f}"]
            parts.append("| " + " | ".join(texts + values) + " |")
    return "\n".join(parts)
