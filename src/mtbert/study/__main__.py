"""python -m mtbert.study run|report <study.yaml>"""

import argparse
import sys
from pathlib import Path

from mtbert.study.render import report_study
from mtbert.study.runner import queue_study, run_study


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mtbert.study", description="Run a study as DVC experiments and report it.")
    parser.add_argument("action", choices=["run", "report"])
    parser.add_argument("study", type=Path)
    parser.add_argument("--only", nargs="*", help="run just these variants")
    parser.add_argument("--rerun", action="store_true", help="run again the (variant, seed) pairs already collected")
    parser.add_argument("--jobs", type=int, default=None,
                        help="run through DVC's queue, this many experiments at once (dvc queue start --jobs N)")
    args = parser.parse_args(argv)
    if args.action == "run" and args.jobs:
        queue_study(args.study, args.jobs, args.only, args.rerun)
    elif args.action == "run":
        run_study(args.study, args.only, args.rerun)
    print("wrote", report_study(args.study))


if __name__ == "__main__":
    main(sys.argv[1:])
