"""mtbert predict --task sst|quora|sts [sentences ...] [--input FILE] [--output FILE] [--checkpoint DIR]

Scores sentences (sst: class 0-4 and its five probabilities) or pairs (quora: paraphrase probability and label;
sts: similarity on 0-5) with a trained checkpoint (default models/finetuned, written by `dvc repro`). Pairs given as
arguments are consecutive sentences. Files: CSV or TSV with a header, or JSON Lines, holding `sentence` or
`sentence1` and `sentence2` (other columns are passed through). Output: CSV on standard output, or --output's
format by suffix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from mtbert.model.multitask import TASK_SPECS
from mtbert.predict import inputs
from mtbert.predict.predictor import DEFAULT_CHECKPOINT, NotACheckpoint, Predictor


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mtbert predict", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("texts", nargs="*", help="sentences (pairs: first and second of each pair in turn)")
    ap.add_argument("--task", required=True, choices=sorted(TASK_SPECS))
    ap.add_argument("--input", type=Path, help="a .csv, .tsv or .jsonl file instead of arguments")
    ap.add_argument("--output", type=Path, help="a .csv, .tsv or .jsonl file (default: CSV on standard output)")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--batch-size", type=int, default=64)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if bool(args.texts) == bool(args.input):
        print("mtbert predict: give sentences as arguments or --input FILE (one of the two)", file=sys.stderr)
        return 2
    if args.batch_size < 1:
        print(f"mtbert predict: --batch-size must be at least 1, got {args.batch_size}", file=sys.stderr)
        return 2
    try:
        rows = inputs.read_file(args.input, args.task) if args.input else inputs.from_arguments(args.task, args.texts)
        predictor = Predictor.load(args.checkpoint, args.device, args.batch_size)
        progress = (lambda b: tqdm(b, desc=f"{args.task}: {len(rows):,} rows", unit="batch")) if args.input else None
        inputs.write(predictor.predict(args.task, rows, progress), args.output)
    except (inputs.BadInput, NotACheckpoint, ValueError) as err:
        print(f"mtbert predict: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
