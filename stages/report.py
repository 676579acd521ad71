"""DVC stage: reports/results.md, its training curves and the dev-error figures, from the last run's metrics, logs and
per-row predictions."""

import json
from pathlib import Path

from mtbert.config import run_stage
from mtbert.data.download import manifest_path
from mtbert.data.sources import checkpoint_dir
from mtbert.io import write_text
from mtbert.report import errors, plots, results


def main() -> None:
    metrics = json.loads(Path("metrics.json").read_text()) | json.loads(Path("intervals.json").read_text())
    run = json.loads(Path("models/finetuned/run.json").read_text())
    split_sources = json.loads(Path("data/prepared/summary.json").read_text())["split_source"]
    manifest = json.loads(manifest_path(Path("data/raw")).read_text())
    weights = f"{checkpoint_dir(run['model']['checkpoint'])}/model.safetensors"
    sha = next((f["sha256"] for f in manifest["files"] if f["path"] == weights), "unknown")
    figure = plots.training_curves(Path("dvclive/finetune"), Path("reports/figures/curves.png"),
                                   f"{run['model']['checkpoint']} — mode {run['train']['mode']}")
    reference = json.loads(Path("reference.json").read_text())
    rows, figures = {}, {}
    for task, draw in errors.FIGURES.items():
        target = Path(f"reports/figures/{task}-dev-errors.png")
        if task not in run["train"]["tasks"]:
            errors.placeholder_figure(task, target)
            continue
        rows[task] = errors.dev_rows(Path("predictions"), Path("data/prepared"), task)
        figures[task] = draw(rows[task], target).relative_to("reports").as_posix()
    write_text("reports/results.md", results.render(metrics, run, split_sources, sha, figure.relative_to("reports").as_posix(),
                                                    results.git_commit(), reference)
               + ("\n" + errors.errors_section(rows, figures) + "\n" if rows else ""))
    print("wrote reports/results.md,", figure, "and", ", ".join(figures.values()))


if __name__ == "__main__":
    run_stage(main)
