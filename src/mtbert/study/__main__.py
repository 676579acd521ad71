"""mtbert study run|report|headline <study.yaml> [--jobs N | --direct --workers N]"""

import argparse
import sys
from pathlib import Path

from mtbert.report.results import git_commit
from mtbert.study.direct import run_direct
from mtbert.study.headline import headline_of
from mtbert.study.render import report_study
from mtbert.study.runner import queue_study, run_study
from mtbert.tools import own_bin_first


def main(argv: list[str] | None = None) -> None:
    own_bin_first()  # the dvc and git of the environment running this, even when it is not on PATH
    parser = argparse.ArgumentParser(prog="mtbert study", description="Run a study as DVC experiments and report it.")
    parser.add_argument("action", choices=["run", "report", "headline"],
                        help="headline: print the README's table from the study's first variant")
    parser.add_argument("study", type=Path)
    parser.add_argument("--only", nargs="*", help="run just these variants")
    parser.add_argument("--rerun", action="store_true", help="run again the (variant, seed) pairs already collected")
    parser.add_argument("--jobs", type=int, default=None,
                        help="run through DVC's queue, this many experiments at once (dvc queue start --jobs N)")
    parser.add_argument("--direct", action="store_true",
                        help="run the stage scripts in scratch workspaces, without DVC or git (e.g. on a lent GPU)")
    parser.add_argument("--workers", type=int, default=1, help="--direct: runs at once")
    parser.add_argument("--threads", type=int, default=None, help="--direct: intra-op threads per run (default: the "
                                                                   "cores shared out)")
    parser.add_argument("--store", type=Path, default=None, help="--direct: where the records go (default "
                                                                  "reports/studies/<name>.json); no page is rendered")
    parser.add_argument("--commit", default=None, help="--direct: the commit the records name (default: HEAD's)")
    args = parser.parse_args(argv)
    if args.action == "headline":
        print(headline_of(args.study))
        return
    if args.action == "run" and args.direct:
        failed = run_direct(args.study, args.workers, args.commit or git_commit(), args.store, only=args.only,
                            rerun=args.rerun, threads=args.threads)
        if failed:
            raise SystemExit(f"{len(failed)} runs failed: {failed}; rerun to retry them")
        if args.store:
            return
    elif args.action == "run" and args.jobs:
        queue_study(args.study, args.jobs, args.only, args.rerun)
    elif args.action == "run":
        run_study(args.study, args.only, args.rerun)
    print("wrote", report_study(args.study))


if __name__ == "__main__":
    main(sys.argv[1:])
