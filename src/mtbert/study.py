"""Run a study (variants of params at one named budget) as DVC experiments, and tabulate it.

    python -m mtbert.study run studies/methods.yaml      # one `dvc exp run` per variant, results collected
    python -m mtbert.study report studies/methods.yaml   # reports/<study>.md from the collected results

A study file has `name`, `budget` (params overrides shared by every variant, the comparison budget) and
`variants` (name -> params overrides); optional `notes` (rendered at the end) and `superseded` (what in the code has
changed since the results were measured, rendered at the top). After each `dvc exp run` the workspace holds that experiment's outputs,
so results are read from there and kept in reports/studies/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from mtbert.io import write_json, write_text
from mtbert.profiles import flatten, override_flags
from mtbert.report import plots
from mtbert.report.results import git_commit

RESULTS = Path("reports/studies")
TASK_ORDER = ("sst", "quora", "sts")


def load_study(path: Path) -> dict:
    study = yaml.safe_load(path.read_text())
    missing = [k for k in ("name", "budget", "variants") if k not in study]
    if missing:
        raise ValueError(f"{path}: study file lacks {missing}")
    return study


def _mean_metric(live: Path, name: str) -> float | None:
    df = plots.read_live_metric(live, name)
    return None if df is None else float(df["value"].mean())


def collect(variant: str, overrides: dict, seconds: float) -> dict:
    """The workspace's results right after `dvc exp run`: metrics, per-epoch diagnostics averaged, cost."""
    live = Path("dvclive/finetune")
    metrics = json.loads(Path("metrics.json").read_text())
    run = json.loads(Path("models/finetuned/run.json").read_text())
    diagnostics = {}
    for path in sorted((live / "plots" / "metrics").rglob("*.tsv")):
        name = path.relative_to(live / "plots" / "metrics").with_suffix("").as_posix()
        if name.split("/")[0] in ("grad", "steps", "time"):
            diagnostics[name] = _mean_metric(live, name)
    pretrained = Path("models/pretrained/pretrain.json")
    extra = {"pretrain_mlm": json.loads(pretrained.read_text())["history"]} if pretrained.exists() else {}
    return {"variant": variant, "overrides": overrides, "metrics": metrics, "best_epoch": run.get("best", {}).get("epoch"),
            "notes": run.get("notes", []), "diagnostics": diagnostics, "wall_seconds": round(seconds, 1)} | extra


def run_study(path: Path, only: list[str] | None = None) -> None:
    study = load_study(path)
    store = RESULTS / f"{study['name']}.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    for variant, overrides in study["variants"].items():
        if only and variant not in only:
            continue
        merged = flatten(study["budget"]) | flatten(overrides or {})
        cmd = ["dvc", "exp", "run", "--force", "-n", f"{study['name']}-{variant}".replace("_", "-"), *override_flags(merged)]
        # `dvc exp run` leaves the last experiment's params in the workspace: start every variant from HEAD's
        subprocess.run(["git", "checkout", "HEAD", "--", "params.yaml"], check=True)
        print("+", " ".join(cmd), flush=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        results[variant] = collect(variant, merged, time.perf_counter() - start) | {"commit": git_commit()}
        write_json(store, results)  # after every variant: a long study survives an interruption


def majority_baseline(prepared: Path = Path("data/prepared")) -> dict[str, float]:
    """Dev accuracy of always predicting the most frequent training class: the no-learning reference."""
    from mtbert.data.prepare import load_split

    out = {}
    for task, name in (("sst", "sst_acc"), ("quora", "quora_acc")):
        if (prepared / task / "dev.csv").exists():
            top = load_split(prepared, task, "train")["label"].mode()[0]
            out[name] = float((load_split(prepared, task, "dev")["label"] == top).mean())
    return out


def render(study: dict, results: dict, majority: dict[str, float] | None = None) -> str:
    budget = ", ".join(f"`{k}={v}`" for k, v in flatten(study["budget"]).items())
    header = "| variant | SST acc | Quora acc | STS r | overall | s/step | vs first | peak MB | conflicts | notes |"
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    base = None
    for variant in study["variants"]:
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
    if majority:
        rows.append("| *majority class* | " + " | ".join(f"*{majority[k]:.4f}*" if k in majority else "–"
                                                       for k in ("sst_acc", "quora_acc", "sts_pearson", "overall")) + " | | | | | no learning |")
    pair_names = sorted({k.removeprefix("grad/cos_") for r in results.values() for k in r["diagnostics"] if k.startswith("grad/cos_")})
    cosines = ["| variant | " + " | ".join(pair_names) + " |", "|" + "---|" * (len(pair_names) + 1)]
    for variant in study["variants"]:
        r = results.get(variant)
        if r and pair_names:
            d = r["diagnostics"]
            cosines.append(f"| {variant} | " + " | ".join(f"{d[f'grad/cos_{p}']:+.3f}" if d.get(f"grad/cos_{p}") is not None else "–"
                                                          for p in pair_names) + " |")
    shares = ["| variant | " + " | ".join(TASK_ORDER) + " |", "|" + "---|" * (len(TASK_ORDER) + 1)]
    for variant in study["variants"]:
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
        for variant in study["variants"]:
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
            pretraining += (f"## Further pretraining in `{variant}`\n\n![held-out MLM/NSP curves](figures/{study['name']}-{variant}.png)"
                            "\n\nEpoch 0 is the encoder before further pretraining (fresh MLM/NSP heads when the checkpoint has "
                            "none).\n\n" + "\n".join(rows_p) + effect)
    every_task_every_step = all(v == 1.0 for r in results.values() for k, v in r["diagnostics"].items() if k.startswith("steps/"))
    commits = sorted({r["commit"] for r in results.values()})
    return "\n\n".join(filter(None, [
        f"# Study: {study['name']}\n\n{study.get('description', '').strip()}\n\nGenerated by `python -m mtbert.study report` "
        f"from `reports/studies/{study['name']}.json`; each row is one `dvc exp run` (see `dvc exp show`). Dev metrics of the "
        f"best-on-dev epoch. Code: commit(s) {', '.join(f'`{c}`' for c in commits)}.",
        (f"> **Made with behaviour that has since changed.** {' '.join(study['superseded'].split())} These rows are kept "
         "as they were measured; rerun the study to compare with the current code.") if study.get("superseded") else "",
        f"**Comparison budget** (the same for every variant): {budget}.",
        "\n".join(rows),
        "s/step: mean wall time of a training step; vs first: ratio to the first variant's. conflicts: share of measured "
        "steps whose task gradients on the shared encoder had negative cosine (mean over task pairs).",
        deltas,
        ("## Share of steps holding each task\n\n" + "\n".join(shares)) if not every_task_every_step else "",
        ("## Mean cosine between task gradients on the encoder\n\n" + "\n".join(cosines)) if pair_names else "",
        pretraining,
        ("## Reading these numbers\n\n" + study["notes"].strip()) if study.get("notes") else "",
    ])) + "\n"


def report_study(path: Path) -> Path:
    study = load_study(path)
    results = json.loads((RESULTS / f"{study['name']}.json").read_text())
    target = Path("reports") / f"{study['name']}.md"
    for variant, r in results.items():
        if r.get("pretrain_mlm"):
            plots.pretraining_curves(r["pretrain_mlm"], target.parent / "figures" / f"{study['name']}-{variant}.png",
                                     f"{study['name']} / {variant}: further MLM+NSP pretraining")
    write_text(target, render(study, results, majority_baseline()))
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mtbert.study", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["run", "report"])
    parser.add_argument("study", type=Path)
    parser.add_argument("--only", nargs="*", help="run just these variants")
    args = parser.parse_args(argv)
    if args.action == "run":
        run_study(args.study, args.only)
    print("wrote", report_study(args.study))


if __name__ == "__main__":
    main(sys.argv[1:])
