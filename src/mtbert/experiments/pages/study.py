"""A study's page (reports/<study>.md): one row per variant (mean and 95% t interval over seeds when the study has
seeds, with paired differences to the first variant), where training stopped, the no-fine-tuning reference rows,
diagnostics, notes."""

from __future__ import annotations

import math
from pathlib import Path

from mtbert.experiments.analysis import questions, stats
from mtbert.experiments.analysis.curves import curves_figure, gains_table, marks
from mtbert.experiments.store import load_reference, read
from mtbert.experiments.study import SEED_KEYS, Study, load_study, result_key
from mtbert.io import write_text
from mtbert.profiles import flatten
from mtbert.report import plots

TASK_ORDER = ("sst", "quora", "sts")


def reference_rows(reference: dict | None) -> list[str]:
    """The `reference` stage's dev numbers as table rows, so every variant is read against what no training gives."""
    if not reference:
        return []
    rows = []
    for key, label in (("no_finetuning", "*no fine-tuning* (frozen checkpoint)"), ("majority", "*majority class*")):
        dev = reference[key].get("dev", {})
        rows.append(f"| {label} | " + " | ".join(f"*{dev[k]:.4f}*" if k in dev else "–" for k in stats.METRICS)
                    + " | | | | | reference stage |")
    return rows


def _interval(mean: float, low: float, high: float, sign: str) -> str:
    """mean [low, high]; the mean alone where one seed leaves the interval undefined."""
    return f"{mean:{sign}.4f}" + ("" if math.isnan(low) else f" [{low:{sign}.4f}, {high:{sign}.4f}]")


def seeded_tables(study: Study, results: dict) -> str:
    """Mean ± 95% t interval over seeds, and paired differences to the first variant (* where the interval excludes 0)."""
    labels = ("SST acc", "Quora acc", "STS r", "overall")

    def means_table(split: str) -> list[str]:
        lines = ["| variant | seeds | " + " | ".join(labels) + " |", "|" + "---|" * (2 + len(labels))]
        for variant, m in stats.summary(study, results, split).items():
            n = next(iter(m.values()))[3] if m else 0
            lines.append(f"| {variant} | {n} | " + " | ".join(
                _interval(*m[k][:3], "") if k in m else "–" for k in stats.METRICS) + " |")
        return lines

    first = next(iter(study.variants))

    def paired_table(split: str) -> list[str]:
        diffs = [f"| variant − {first} | seeds | " + " | ".join(f"Δ {x}" for x in labels) + " |",
                 "|" + "---|" * (2 + len(labels))]
        for variant, d in stats.paired(study, results, split).items():
            n = next(iter(d.values()))[3] if d else 0
            diffs.append(f"| {variant} | {n} | " + " | ".join(
                (_interval(*d[k][:3], "+") + (" *" if d[k][1] > 0 or d[k][2] < 0 else ""))
                if k in d else "–" for k in stats.METRICS) + " |")
        return diffs

    lines = means_table("dev")
    spread = stats.seed_spread(study, results)
    noise = f"\n\nSeed-to-seed standard deviation of dev overall (mean over variants): {spread:.4f}." if spread else ""
    several = len(study.variants) > 1
    paired_part = ""
    if several:
        paired_part = (f"\n\n## Paired differences to `{first}` on the same seeds (dev)\n\n" + "\n".join(paired_table("dev"))
                       + "\n\n`*`: the 95% interval of the paired difference excludes zero; without `*` the variants are "
                       "not distinguishable at this budget and number of seeds.")
    test = ("\n\n## Over seeds (test): mean [95% t interval]\n\nThe same runs' checkpoints (chosen on dev) on the test "
            "splits; never used to choose anything.\n\n" + "\n".join(means_table("test")))
    if several:
        test += (f"\n\nPaired differences to `{first}` on the same seeds (test), free of the dev set's part in choosing "
                 "each run's epoch:\n\n" + "\n".join(paired_table("test")))
    if study.dev_only:  # a study that chooses something: its test numbers stay out of sight
        test = "\n\nTest numbers are left off this page (`dev_only`): this study chooses, so it is read on dev alone."
    return "## Over seeds (dev): mean [95% t interval]\n\n" + "\n".join(lines) + noise + paired_part + test


def has_curves(results: dict) -> bool:
    return any(len(c) > 1 for r in results.values() for c in (r.get("curves") or {}).values())


def stopping(study: Study, results: dict) -> str:
    """Where each variant's runs stopped: its dev curve (the figure report_study draws), its last-epoch gains and how
    many runs its cap rather than its plateau rule stopped."""
    if not has_curves(results):
        return ""
    reading = "" if not study.questions else (
        " A variant marked **cap reached** gates the questions that compare it." if study.levelled_off else
        " This study compares its variants as shipped at this cap: the marks qualify its answers, they do not gate them.")
    return ("## Where training stopped\n\n"
            f"Dev after each epoch, mean over seeds (to the epochs every seed reached), and each variant's gain over its "
            f"last evaluation, each run read at its own end. {marks()}.{reading}\n\n"
            f"![{study.name} dev curves](figures/{study.name}-curves.png)\n\n"
            + "\n".join(gains_table(study, results, list(study.variants))))


def render(study: Study, results: dict, reference: dict | None = None) -> str:
    """The page. With seeds, the per-run tables (cost, diagnostics) show each variant's run on the first seed."""
    seeds = study.seeds
    all_runs = results
    results = {v: all_runs[result_key(v, seeds[0] if seeds else None)] for v in study.variants
               if result_key(v, seeds[0] if seeds else None) in all_runs}
    budget = ", ".join(f"`{k}={v}`" for k, v in flatten(study.budget).items())
    header = "| variant | SST acc | Quora acc | STS r | overall | s/step | vs first | peak MB | conflicts | notes |"
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    base = None
    for variant in study.variants:
        r = results.get(variant)
        if r is None:
            rows.append(f"| {variant} | not run | | | | | | | | |")
            continue
        dev = r["metrics"].get("dev", {})
        d = r["diagnostics"]
        sps = d.get("time/seconds_per_step")
        base = base or sps
        conflicts = [v for k, v in d.items() if k.startswith("grad/conflict_") and v is not None]
        cells = [variant] + [f"{dev[k]:.4f}" if k in dev else "–" for k in ("sst_acc", "quora_acc", "sts_pearson", "overall")]
        cells += [f"{sps:.2f}" if sps else "–", f"{sps / base:.2f}×" if sps and base else "–",
                  f"{d['time/peak_memory_mb']:.0f}" if d.get("time/peak_memory_mb") else "–",
                  f"{sum(conflicts) / len(conflicts):.0%}" if conflicts else "–", "; ".join(r["notes"]) or ""]
        rows.append("| " + " | ".join(cells) + " |")
    rows += reference_rows(reference)
    pair_names = sorted({k.removeprefix("grad/cos_") for r in results.values() for k in r["diagnostics"] if k.startswith("grad/cos_")})
    cosines = ["| variant | " + " | ".join(pair_names) + " |", "|" + "---|" * (len(pair_names) + 1)]
    for variant in study.variants:
        r = results.get(variant)
        if r and pair_names:
            d = r["diagnostics"]
            cosines.append(f"| {variant} | " + " | ".join(f"{d[f'grad/cos_{p}']:+.3f}" if d.get(f"grad/cos_{p}") is not None else "–"
                                                          for p in pair_names) + " |")
    shares = ["| variant | " + " | ".join(TASK_ORDER) + " |", "|" + "---|" * (len(TASK_ORDER) + 1)]
    for variant in study.variants:
        r = results.get(variant)
        if r:
            d = r["diagnostics"]
            shares.append(f"| {variant} | " + " | ".join(f"{d[f'steps/{t}_fraction']:.0%}" if d.get(f"steps/{t}_fraction") is not None
                                                          else "–" for t in TASK_ORDER) + " |")
    deltas = ""
    if "baseline" in results:
        base_dev = results["baseline"]["metrics"].get("dev", {})
        names = ("sst_acc", "quora_acc", "sts_pearson", "overall")
        lines = ["| variant | Δ SST acc | Δ Quora acc | Δ STS r | Δ overall |", "|---|---|---|---|---|"]
        for variant in study.variants:
            r = results.get(variant)
            if r and variant != "baseline":
                dev = r["metrics"].get("dev", {})
                lines.append(f"| {variant} | " + " | ".join(f"{100 * (dev[k] - base_dev[k]):+.1f}" if k in dev and k in base_dev
                                                           else "–" for k in names) + " |")
        deltas = ("## Against the baseline (dev, points: 100 × difference)\n\n" + "\n".join(lines))
    pretraining = ""
    for variant, r in results.items():
        if r.get("pretrain_mlm"):
            hist = r["pretrain_mlm"]
            rows_p = ["| epoch | held-out MLM acc | held-out MLM loss | held-out NSP acc | train MLM loss | train NSP loss |",
                      "|---|---|---|---|---|---|"]
            rows_p += [f"| {h['epoch']} | {h['heldout/mlm_accuracy']:.4f} | {h['heldout/mlm_loss']:.3f} | "
                       f"{h['heldout/nsp_accuracy']:.4f} | " + " | ".join(f"{h[k]:.3f}" if k in h else "–"
                                                                         for k in ("train/mlm_loss", "train/nsp_loss")) + " |"
                       for h in hist]
            effect = ""
            if "baseline" in results and variant != "baseline":
                before, after = results["baseline"]["metrics"].get("dev", {}), r["metrics"].get("dev", {})
                effect = "\n\nMeasured effect on dev against `baseline`, the same run without it: " + "; ".join(
                    f"{label} {before[k]:.4f} → {after[k]:.4f} ({after[k] - before[k]:+.4f}, {100 * (after[k] / before[k] - 1):+.1f}% relative)"
                    for k, label in (("sst_acc", "SST acc"), ("quora_acc", "Quora acc"), ("sts_pearson", "STS r"), ("overall", "overall"))
                    if k in before and k in after) + "."
            pretraining += (f"## Further pretraining in `{variant}`\n\n![held-out MLM/NSP curves](figures/{study.name}-{variant}.png)"
                            "\n\nEpoch 0 is the encoder before further pretraining (fresh MLM/NSP heads when the checkpoint has "
                            "none).\n\n" + "\n".join(rows_p) + effect)
    every_task_every_step = all(v == 1.0 for r in results.values() for k, v in r["diagnostics"].items() if k.startswith("steps/"))
    commits = sorted({r["commit"] for r in all_runs.values()})
    direct = sorted({r.get("device", "?") for r in all_runs.values() if r.get("direct")})
    how = (f"one run of the stage scripts without DVC (`--executor direct`) on {', '.join(direct)}" if direct
           else "one `dvc exp run` (see `dvc exp show`)")
    return "\n\n".join(filter(None, [
        f"# Study: {study.name}\n\n{study.description.strip()}\n\nGenerated by `mtbert study report` "
        f"from `reports/studies/{study.name}.json`; each row is {how}. Dev metrics of the "
        f"best-on-dev epoch. Code: commit(s) {', '.join(f'`{c}`' for c in commits)}.",
        (f"> **Made with behaviour that has since changed.** {' '.join(study.superseded.split())} These rows are kept "
         "as they were measured; rerun the study to compare with the current code.") if study.superseded else "",
        f"**Comparison budget** (the same for every variant): {budget or '`params.yaml` as committed, no overrides'}."
        + (f" Seeds: {seeds} (each drives {', '.join(f'`{k}`' for k in SEED_KEYS)})." if seeds else ""),
        seeded_tables(study, all_runs) if seeds else "",
        questions.section(study, all_runs, reference, ("dev",) if study.dev_only else ("dev", "test")),
        stopping(study, all_runs),
        (f"## Runs on seed {seeds[0]}\n\n" if seeds else "") + "\n".join(rows),
        "s/step: mean wall time of a training step; vs first: ratio to the first variant's. conflicts: share of measured "
        "steps whose task gradients on the shared encoder had negative cosine (mean over task pairs).",
        deltas,
        ("## Share of steps holding each task\n\n" + "\n".join(shares)) if not every_task_every_step else "",
        ("## Mean cosine between task gradients on the encoder\n\n" + "\n".join(cosines)) if pair_names else "",
        pretraining,
        ("## Reading these numbers\n\n" + study.notes.strip()) if study.notes else "",
    ])) + "\n"


def report_study(path: Path) -> Path:
    study = load_study(path)
    results = read(study.store(None))
    target = Path("reports") / f"{study.name}.md"
    first_seed = (study.seeds or [None])[0]
    for variant in study.variants:
        r = results.get(result_key(variant, first_seed))
        if r and r.get("pretrain_mlm"):
            plots.pretraining_curves(r["pretrain_mlm"], target.parent / "figures" / f"{study.name}-{variant}.png",
                                     f"{study.name} / {variant}: further MLM+NSP pretraining")
    if has_curves(results):
        curves_figure(study, results, list(study.variants), target.parent / "figures" / f"{study.name}-curves.png",
                      f"{study.name}: dev after each epoch, mean over seeds")
    reference = load_reference()
    write_text(target, render(study, results, reference))
    return target
