"""DVC stage: clean train/dev/test tables per task in data/prepared, and the data card."""

from pathlib import Path

from mtbert.config import load_params, run_stage, section
from mtbert.config.data import PrepareConfig
from mtbert.data import card
from mtbert.data.prepare import prepare_all
from mtbert.io import write_text


def main() -> None:
    cfg = section(load_params(), "data.prepare", PrepareConfig)
    prepared = Path("data/prepared")
    summary = prepare_all(Path("data/raw"), prepared, cfg)
    write_text("reports/data.md", card.render(prepared, summary))
    print(f"prepared {prepared}; data card in reports/data.md (Quora: {summary['quora']['split_source']})")


if __name__ == "__main__":
    run_stage(main)
