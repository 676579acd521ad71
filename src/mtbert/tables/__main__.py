"""mtbert tables run|render [--profile cpu|gpu] [--jobs N] [--only STUDY ...]

run: every table study's runs with no result for this commit's pipeline code and budget at the profile (one
`dvc exp run` each, or N at a time through DVC's queue), then render. render: reports/tables/<report>.md and
claims.md from the results present."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from mtbert.io import write_text
from mtbert.tables import run as R
from mtbert.tables.claims import load_claims, load_reference, render_claims
from mtbert.tables.dry import SHAPES, dry_run, shape_of
from mtbert.tables.dry import render as render_dry
from mtbert.tables.extend import extend
from mtbert.tables.jobs import run_jobs
from mtbert.tables.published import load_published
from mtbert.tables.render import OUT, render_all
from mtbert.tables.spec import profile_base, table_studies
from mtbert.tools import own_bin_first

PREPARED = Path("data/prepared")
RESOURCES = Path("profiles/tables/resources.yaml")


def data_sizes(prepared: Path = PREPARED) -> dict[str, dict[str, int]]:
    """Rows per split of each prepared task (for the dataset-size tables); refuses when a split is not here, so that
    a page never loses our counts because the workspace that rendered it had no prepared data."""
    paths = {(task, split): prepared / task / f"{split}.csv" for task in ("sst", "quora", "sts")
             for split in ("train", "dev", "test")}
    absent = [str(p) for p in paths.values() if not p.exists()]
    if absent:
        raise SystemExit(f"the dataset-size tables need our prepared splits; not here: {', '.join(absent)} "
                         "(run `dvc checkout data/prepared`, or `dvc repro prepare`)")
    out: dict[str, dict[str, int]] = {}
    for (task, split), path in paths.items():
        out.setdefault(task, {})[split] = len(pd.read_csv(path))
    return out


def render(profile: str) -> list[Path]:
    published, studies = load_published(), table_studies()
    results = R.page_results(studies, profile)
    code = R.code_version(strict=False)
    has_data_table = any(t.kind == "data" for r in published.reports.values() for t in r.tables)
    claims = load_claims()
    compared: dict[str, list[str]] = {}
    for c in claims:
        for part in c.parts:
            a, b, _, _ = c.arms(part)
            compared.setdefault(c.study, [])
            compared[c.study] += [arm for arm in (a, b) if arm not in compared[c.study]]
    reference = load_reference()
    written = render_all(published, studies, results, profile, data_sizes() if has_data_table else {}, code=code,
                         reference=reference, compared=compared, base=profile_base(profile))
    target = OUT / "claims.md"
    write_text(target, render_claims(claims, published, studies, results, profile, code, reference))
    return written + [target]


def slurm_resources(args) -> dict:
    """The profile's SLURM request (profiles/tables/resources.yaml) with the user's partition and account."""
    import yaml

    resources = dict(yaml.safe_load(RESOURCES.read_text()).get(args.profile, {}))
    extra = {k: v for k, v in (("slurm_partition", args.partition), ("slurm_account", args.account)) if v}
    return resources | extra


def dry(args) -> int:
    """The dry run's table, written after every variant (and its rows beside it, so that a cut-off dry run resumes
    where it stopped); exit status 1 when any variant failed."""
    import torch

    from mtbert.data.sources import checkpoint_dir
    from mtbert.tables import dry as D

    studies = table_studies()
    unknown = sorted(set(args.only or []) - set(studies))
    if unknown:
        raise SystemExit(f"--only: no table studies {unknown}; studies: {sorted(studies)}")
    checkpoint = profile_base(args.profile)["model"]["checkpoint"]
    shape = shape_of(Path("data/raw") / checkpoint_dir(checkpoint))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    target = args.out or OUT / f"dry-run.{args.profile}.md"
    rows = target.with_suffix(".json")
    try:
        code = R.code_version(strict=False)
    except (subprocess.CalledProcessError, OSError):  # not a git checkout (a copied workspace): no code id to name
        code = ""
    key = {"profile": args.profile, "code": code, "steps": args.steps, "eval_rows": args.eval_rows, "device": device,
           "only": args.only, "cover": args.grid_cover}
    planned = D.planned(studies, args.only, args.grid_cover)

    def write(results: list) -> None:
        D.save_rows(rows, results, key)
        write_text(target, render_dry(results, args.profile, checkpoint, shape, args.checkpoint if shape else None,
                                      device, planned, args.eval_rows, code))

    results = dry_run(studies, args.profile, args.steps, only=args.only, cover=args.grid_cover,
                      eval_rows=args.eval_rows, done=D.load_rows(rows, key), on_result=write)
    write(results)
    print("wrote", target, "and", rows)
    return int(any(not r.ok for r in results))


def _jobs(todo: list[R.Pending], args, code: str) -> None:
    """The runs as submitit jobs; stops, after rendering what there is, when any failed every attempt."""
    failed = run_jobs(todo, args.profile, code, args.executor, args.workers, args.retries,
                      slurm_resources(args) if args.executor == "slurm" else {})
    if failed:
        for path in render(args.profile):
            print("wrote", path)
        raise SystemExit(f"{len(failed)} runs failed every attempt (see above); rerun to retry them")


def main(argv: list[str] | None = None) -> None:
    own_bin_first()  # the dvc and git of the environment running this, even when it is not on PATH
    ap = argparse.ArgumentParser(prog="mtbert tables", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["run", "render", "dry-run"])
    ap.add_argument("--steps", type=int, default=2, help="dry-run: training steps per stage")
    ap.add_argument("--checkpoint", default="bert-base", choices=sorted(SHAPES),
                    help="dry-run: also project the full runs' time at this encoder's size")
    ap.add_argument("--grid-cover", action="store_true",
                    help="dry-run: of a sweep's grid, only cells that together take every value of every axis")
    ap.add_argument("--eval-rows", type=int, default=256,
                    help="dry-run: score only the first this many rows of each dev and test split (0: all)")
    ap.add_argument("--out", type=Path, default=None, help="dry-run: where the table goes (default reports/tables/"
                                                            "dry-run.<profile>.md)")
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--jobs", type=int, default=None, help="through DVC's queue, this many experiments at once")
    ap.add_argument("--executor", choices=["local", "slurm"], default=None,
                    help="run each missing (variant, seed) as a submitit job in a workspace of its own: local (one "
                         "job per GPU present, or --workers CPU jobs, at once) or slurm (one SLURM job each)")
    ap.add_argument("--workers", type=int, default=None, help="local executor without a GPU: CPU jobs at once, the "
                                                              "cores shared out between them as threads")
    ap.add_argument("--retries", type=int, default=2, help="resubmissions of a failed or pre-empted job")
    ap.add_argument("--partition", default=os.environ.get("SLURM_PARTITION"))
    ap.add_argument("--account", default=os.environ.get("SLURM_ACCOUNT"))
    ap.add_argument("--only", nargs="*", help="just these studies (file stems, e.g. 004-t1)")
    ap.add_argument("--budget-hours", type=float, default=12.0,
                    help="after the studies' own seeds, comparisons undecided at the seed plan's first look get the "
                         "seeds of its second (study/plan.py) while the profile's runs so far took less wall time "
                         "than this (0: none)")
    args = ap.parse_args(argv)
    if args.action == "dry-run":
        raise SystemExit(dry(args))
    if args.action == "run":
        studies = table_studies()
        unknown = sorted(set(args.only or []) - set(studies))
        if unknown:
            raise SystemExit(f"--only: no table studies {unknown}; studies: {sorted(studies)}")
        code = R.code_version()
        todo = [p for name, s in studies.items() if not args.only or name in args.only
                for p in R.missing(s, args.profile, R.load_results(s, args.profile), code)]
        print(f"{len(todo)} runs missing at profile {args.profile}", flush=True)
        if todo and args.executor:
            _jobs(todo, args, code)
        elif todo and args.jobs:
            R.queue_pending(todo, args.profile, code, args.jobs)
        elif todo:
            R.run_pending(todo, args.profile, code)
        if not args.only and not args.jobs:
            extend(load_claims(), studies, load_published(), args.profile, code, load_reference(),
                   args.budget_hours, run=(lambda more: _jobs(more, args, code)) if args.executor else None)
    for path in render(args.profile):
        print("wrote", path)


if __name__ == "__main__":
    main(sys.argv[1:])
