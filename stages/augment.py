"""DVC stage: WordNet/EDA augmentation of the listed tasks' training tables (data/augmented); finetune reads them.

Disabled, it writes only a marker, so the chain stays one DAG at no cost.
"""

from pathlib import Path

from mtbert.config import load_params, section
from mtbert.data.augment import AugmentConfig, augment
from mtbert.io import write_disabled

OUT = Path("data/augmented")
WORDNET = Path("data/raw/nltk_data/corpora/wordnet.zip")


def main() -> None:
    cfg = section(load_params(), "augment", AugmentConfig)
    if not cfg.enabled:
        write_disabled(OUT)
        print("augment disabled: finetune trains on the prepared tables")
        return
    for task, stats in augment(Path("data/prepared"), WORDNET, OUT, cfg).items():
        print(task, stats)


if __name__ == "__main__":
    main()
