"""Training curves as PNG (vega HTML renders blank offline): train vs dev per task per epoch."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from mtbert.io import atomic_path  # noqa: E402

PANELS = [("sst_acc", "SST accuracy"), ("quora_acc", "Quora accuracy"), ("sts_pearson", "STS Pearson r")]


def _save(fig, target: Path, title: str) -> Path:
    """Title, tight layout and an atomic PNG write (a half-written figure never replaces a good one)."""
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return target


def read_live_metric(live_dir: Path, name: str) -> pd.DataFrame | None:
    """One DVCLive metric history (columns step, value), or None when it was not logged."""
    path = live_dir / "plots" / "metrics" / f"{name}.tsv"
    if not path.exists():
        return None
    df = pd.read_csv(path, sep="\t")
    return pd.DataFrame({"epoch": df["step"] + 1, "value": df[df.columns[-1]]})


def training_curves(live_dir: Path, target: Path, title: str) -> Path:
    fig, axes = plt.subplots(1, len(PANELS) + 1, figsize=(4 * (len(PANELS) + 1), 3.4))
    for ax, (name, label) in zip(axes, PANELS):
        for split, style in (("train", "--o"), ("dev", "-o")):
            df = read_live_metric(live_dir, f"{split}/{name}")
            if df is not None:
                ax.plot(df["epoch"], df["value"], style, label=split)
        ax.set(title=label, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    for task in ("sst", "quora", "sts"):
        df = read_live_metric(live_dir, f"train/{task}_loss")
        if df is not None:
            axes[-1].plot(df["epoch"], df["value"], "-o", label=task)
    axes[-1].set(title="train loss", xlabel="epoch", yscale="log")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].grid(alpha=0.3)
    axes[-1].legend()
    return _save(fig, target, title)


def pretraining_curves(history: list[dict], target: Path, title: str) -> Path:
    """Held-out MLM and NSP accuracy (and MLM loss) per epoch of further pretraining; epoch 0 is before training."""
    epochs = [h["epoch"] for h in history]
    panels = [("heldout/mlm_accuracy", "held-out MLM accuracy"), ("heldout/nsp_accuracy", "held-out NSP accuracy"),
              ("heldout/mlm_loss", "held-out MLM loss")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (name, label) in zip(axes, panels):
        ax.plot(epochs, [h[name] for h in history], "-o")
        ax.set(title=label, xlabel="epoch (0: before)")
        if name == "heldout/nsp_accuracy":  # on a full 0..1 scale with chance marked, so noise does not look like change
            ax.axhline(0.5, ls="--", c="grey", label="chance")
            ax.set_ylim(0, 1)
            ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    return _save(fig, target, title)
