"""DVC stage: WordNet/EDA augmentation of the listed tasks' training tables (data/augmented); finetune reads them.

Disabled, it writes only a marker, so the chain stays one DAG at no cost.
"""

from pathlib import Path

from mtbert.config import load_params, run_stage, section
from mtbert.config.augment import AugmentConfig
from mtbert.data.augment import augment
from mtbert.io import stage_disabled, write_text
from mtbert.report.augment import render

OUT = Path("data/augmented")
REPORT = Path("reports/augment.md")
WORDNET = Path("data/raw/nltk_data/corpora/wordnet.zip")


def main() -> None:
    cfg = section(load_params(), "augment", AugmentConfig)
    if stage_disabled(cfg.enabled, OUT, why="augment disabled: finetune trains on the prepared tables"):
        write_text(REPORT, render(None))
        return
    summary = augment(Path("data/prepared"), WORDNET, OUT, cfg)
    write_text(REPORT, render(summary))
    for task, stats in summary["tasks"].items():
        print(task, {k: v for k, v in stats.items() if k != "samples"})


if __name__ == "__main__":
    run_stage(main)
