"""The README's headline table from a seeded study's first variant: mean [95% t interval] over seeds on dev and test,
beside the reference stage's no-fine-tuning and majority-class rows."""

from __future__ import annotations

import math
from pathlib import Path

from mtbert.experiments.analysis import questions, stats
from mtbert.experiments.store import load_reference, read
from mtbert.experiments.study import Study, load_study

COLUMNS = ("SST acc", "Quora acc", "STS r", "overall")


def _cell(v: tuple) -> str:
    mean, low, high = v[:3]
    return f"**{mean:.4f}**" + ("" if math.isnan(low) else f" [{low:.4f}, {high:.4f}]")  # one seed: no interval


def headline(study: Study, results: dict, reference: dict | None) -> str:
    """Markdown: the table, then a line naming the runs' seeds, commit(s) and device(s)."""
    variant = next(iter(study.variants))
    lines = ["| | split | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---|" * len(COLUMNS)]
    n = 0
    for split in ("dev", "test"):
        m = stats.summary(study, results, split)[variant]
        n = max((v[3] for v in m.values()), default=0)
        label = f"**{study.name} recipe, {n} seeds**" if split == "dev" else ""
        lines.append(f"| {label} | {split} | " + " | ".join(
            _cell(m[k]) if k in m else "–" for k in stats.METRICS) + " |")
    for key, label in (("no_finetuning", "no fine-tuning (`reference` stage)"), ("majority", "majority class")):
        for split in ("dev", "test"):
            got = (reference or {}).get(key, {}).get(split, {})
            lines.append(f"| {label if split == 'dev' else ''} | {split} | "
                         + " | ".join(f"{got[k]:.4f}" if k in got else "–" for k in stats.METRICS) + " |")
    runs = [r for k, r in results.items() if k.split("@")[0] == variant]
    commits = ", ".join(f"`{c}`" for c in sorted({r["commit"] for r in runs}))
    devices = ", ".join(sorted({r.get("device", "?") for r in runs}))
    return "\n".join(lines) + (f"\n\nFrom `reports/studies/{study.name}.json`: {n} seeds "
                               f"({', '.join(str(s) for s in sorted(r['seed'] for r in runs))}), commit {commits}, {devices}.")


def headline_of(path: Path) -> str:
    """The headline of the study file at `path`, from its committed store and reference.json; with its questions'
    verdicts on dev and test when it asks any."""
    study = load_study(path)
    results = read(study.store(None))
    reference = load_reference()
    text = headline(study, results, reference)
    if study.questions:
        text += "\n\n" + "\n".join(questions.line(study, results, reference, split) for split in ("dev", "test"))
    return text
