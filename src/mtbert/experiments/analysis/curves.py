"""Dev curves of the compared arms (dev scored after every epoch of each run, averaged over seeds): a figure per table
page, with the marks of the undertrained gate: **still rising** (by more than STILL_RISING over its last evaluation)
and **cap reached** (its cap, not its plateau rule, stopped half its runs or more)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtbert.experiments.analysis.gates import STILL_RISING
from mtbert.experiments.analysis.ours import records_of  # the verdicts' plateau gate: the pages mark by the same rule
from mtbert.experiments.study import Study

METRICS = ("sst_acc", "quora_acc", "sts_pearson", "cfimdb_acc", "overall")


def mean_curve(results: dict[str, dict], variant: str, metric: str) -> np.ndarray | None:
    """The variant's dev curve on `metric`, averaged over the seeds that logged one (epochs every seed reached)."""
    curves = [r["curves"][metric] for r in records_of(results, variant).values() if metric in (r.get("curves") or {})]
    if not curves:
        return None
    length = min(len(c) for c in curves)
    return np.mean([c[:length] for c in curves], axis=0)


def last_gains(records: list[dict]) -> dict[str, float]:
    """metric -> the mean over runs of each run's gain over its own last dev evaluation (runs stopped by a plateau
    rule end at different epochs: each is read at its own end)."""
    gains: dict[str, list[float]] = {}
    for r in records:
        for m, c in (r.get("curves") or {}).items():
            if len(c) >= 2:
                gains.setdefault(m, []).append(float(c[-1] - c[-2]))
    return {m: float(np.mean(g)) for m, g in gains.items()}


def capped(records: list[dict]) -> tuple[int, int]:
    """(runs that reached their cap before their plateau rule stopped them, runs trained under a plateau rule): a run
    the cap stopped did not level off by the rule's own standard, whatever its last evaluation did."""
    ruled = [r["stopped"] for r in records if (r.get("stopped") or {}).get("patience")]
    return sum(s.get("by") == "cap" for s in ruled), len(ruled)


def cap_line(records: list[dict]) -> str:
    """How many fine-tuned runs the cap, not the plateau rule, stopped: of those whose cap leaves the rule room to act
    (above its patience; a one-epoch cap, a report's own budget, does not)."""
    stops = [(r, r.get("stopped") or {}) for r in records]
    fine = [r for r, s in stops if (r.get("overrides") or {}).get("train.mode") == "full"
            and s.get("patience") and s.get("cap", 0) > s["patience"]]
    at_cap, ruled = capped(fine)
    return (f"Fine-tuned runs among them under a plateau rule with room to act (a cap above its patience): {ruled}; "
            f"the cap, not the rule, stopped {at_cap} of them ({at_cap / ruled:.0%}) before dev levelled off."
            if ruled else "")


def still_learning(results: dict[str, dict], variant: str, metric: str) -> bool:
    gain = last_gains(list(records_of(results, variant).values())).get(metric)
    return gain is not None and gain > STILL_RISING


def spread(values: list[int]) -> str:
    """Whole numbers over runs as one cell: "8", "4–8" or "–"."""
    values = sorted(set(values))
    return "–" if not values else str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def marks() -> str:
    """What the two marks of gains_table mean, in the words every page uses."""
    return (f"**still rising**: its runs rose by more than {STILL_RISING} on average over their last evaluation; "
            "**cap reached**: the cap (`train.epochs`), not dev levelling off, stopped half its runs or more")


def gains_table(study: Study, results: dict[str, dict], arms: list[str]) -> list[str]:
    """Each compared arm's epochs (run, and best on dev), last-epoch gain per metric and the runs its cap stopped,
    marked where the gate fires."""
    metrics = [m for m in METRICS if any(mean_curve(results, a, m) is not None for a in arms)]
    if not metrics:
        return []
    lines = ["| arm | epochs | best epoch | stopped by the cap (of its runs under a plateau rule) | "
             + " | ".join(metrics) + " |", "|---|---:|---:|---:|" + "---:|" * len(metrics)]
    for arm in arms:
        records = list(records_of(results, arm).values())
        gains, (at_cap, ruled) = last_gains(records), capped(records)
        epochs = spread([len(c) for r in records for c in (r.get("curves") or {}).values()])
        best = spread([r["best_epoch"] for r in records if r.get("best_epoch")])
        cells = ["–" if gains.get(m) is None else f"{gains[m]:+.3f}" + (
            " **still rising**" if gains[m] > STILL_RISING else "") for m in metrics]
        cap = "–" if not ruled else f"{at_cap} of {ruled}" + (" **cap reached**" if 2 * at_cap >= ruled else "")
        lines.append(f"| {arm} | {epochs} | {best} | {cap} | " + " | ".join(cells) + " |")
    return lines


def curves_figure(study: Study, results: dict[str, dict], arms: list[str], target: Path, title: str) -> Path | None:
    """One panel per metric, one line per compared arm (mean over seeds), dev score after each epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from mtbert.io import atomic_path

    metrics = [m for m in METRICS if any(mean_curve(results, a, m) is not None for a in arms)]
    if not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics) + 1.4, 3.0), squeeze=False,
                             layout="constrained")
    lines = {}
    for ax, m in zip(axes[0], metrics):
        for i, arm in enumerate(arms):  # an arm keeps its colour in every panel, whichever arms a panel lacks
            curve = mean_curve(results, arm, m)
            if curve is not None:
                lines[arm], = ax.plot(np.arange(1, len(curve) + 1), curve, "-o", ms=3, color=f"C{i % 10}", label=arm)
        ax.set(title=m, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.legend(lines.values(), lines.keys(), fontsize=7, loc="outside right center")
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=90, format="png", metadata={"Software": None})
    plt.close(fig)
    return target
