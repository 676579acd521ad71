"""`mtbert study` and `mtbert tables`: one runner under both.

    mtbert study run|report|headline STUDY.yaml [--executor dvc|queue|local|slurm|direct] [--workers N]
    mtbert tables run|render|dry-run [--profile cpu|gpu] [--executor ...] [--workers N] [--only STUDY ...]

study run: the study's runs with no current record (this code id, these params), then its page. tables run: every
table study's missing runs at the profile, more seeds where the seed plan asks for them, then reports/tables/<report>.md
and claims.md. Executors: experiments/executors/__init__.py."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from mtbert.experiments import pilot, runner, store
from mtbert.experiments.analysis import plan
from mtbert.experiments.analysis.claims import load_claims, render_claims
from mtbert.experiments.dry import SHAPES
from mtbert.experiments.executors import KINDS, Executor, make
from mtbert.experiments.extend import extend
from mtbert.experiments.pages.headline import headline_of
from mtbert.experiments.pages.study import report_study
from mtbert.experiments.pages.tables import OUT, render_all
from mtbert.experiments.provenance import code_version
from mtbert.experiments.published import load_published
from mtbert.experiments.study import load_study, profile_base, table_studies
from mtbert.io import write_text
from mtbert.tools import own_bin_first

PREPARED = Path("data/prepared")
RESOURCES = Path("profiles/tables/resources.yaml")


def add_executor_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--executor", choices=KINDS, default="dvc",
                    help="dvc: one `dvc exp run` after another here; queue: DVC's queue, --workers at once; local: "
                         "submitit jobs, one per GPU present (or --workers CPU jobs), each in a clone of HEAD; slurm: "
                         "one SLURM job per run; direct: dvc.yaml's stages in scratch workspaces without DVC or git, "
                         "--workers at once (e.g. on a lent GPU)")
    ap.add_argument("--workers", type=int, default=None, help="runs at once (queue, local without a GPU, direct)")
    ap.add_argument("--threads", type=int, default=None, help="direct: intra-op threads per run (default: the cores "
                                                               "shared out)")
    ap.add_argument("--retries", type=int, default=2, help="local, slurm: resubmissions of a failed or pre-empted job")
    ap.add_argument("--partition", default=os.environ.get("SLURM_PARTITION"))
    ap.add_argument("--account", default=os.environ.get("SLURM_ACCOUNT"))


def executor_of(args: argparse.Namespace) -> Executor:
    resources = {}
    if args.executor == "slurm":  # the profile's SLURM request with the user's partition and account
        import yaml

        resources = dict(yaml.safe_load(RESOURCES.read_text()).get(args.profile, {}))
        resources |= {k: v for k, v in (("slurm_partition", args.partition), ("slurm_account", args.account)) if v}
    return make(args.executor, args.workers, args.threads, args.retries, resources)


def study_main(argv: list[str] | None = None) -> None:
    own_bin_first()  # the dvc and git of the environment running this, even when it is not on PATH
    ap = argparse.ArgumentParser(prog="mtbert study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["run", "report", "headline"],
                    help="headline: print the README's table from the study's first variant")
    ap.add_argument("study", type=Path)
    ap.add_argument("--profile", default=None, help="a table study's profile (cpu, gpu)")
    ap.add_argument("--only", nargs="*", help="run just these variants")
    ap.add_argument("--rerun", action="store_true", help="run again the (variant, seed) pairs already current")
    ap.add_argument("--store", type=Path, default=None, help="where the records go instead of the study's store (e.g. "
                                                              "under a lent GPU's $OUT); no page is rendered")
    ap.add_argument("--commit", default=None, help="the commit the records name (default: HEAD's; for a copied tree "
                                                   "without git)")
    add_executor_args(ap)
    args = ap.parse_args(argv)
    study = load_study(args.study)
    if args.action == "headline":
        print(headline_of(args.study))
        return
    if study.table is not None and args.profile is None:
        raise SystemExit(f"{args.study} is a table study: name its --profile ({', '.join(study.profiles)})")
    if args.action == "run":
        code = code_version()
        records = store.read(args.store) if args.store else None  # resume from where the records go
        todo = runner.missing(study, args.profile, code, args.only, args.rerun, records)
        print(f"{len(todo)} runs of {study.name} missing", flush=True)
        failed = runner.run(todo, executor_of(args), code, args.commit, args.store)
        if failed:
            raise SystemExit(f"{len(failed)} runs failed (see above); rerun to retry them")
        if args.store:
            return
    for path in [report_study(args.study)] if study.table is None else render(args.profile):
        print("wrote", path)


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


def render(profile: str, workers: int = 2, budget_hours: float = plan.BUDGET_HOURS) -> list[Path]:
    """reports/tables/<report>.md, claims.md and the pilot's projection (at `workers` runs at once) from the records
    present."""
    published, studies = load_published(), table_studies()
    results = store.page_results(studies, profile)
    code = code_version(strict=False)
    has_data_table = any(t.kind == "data" for r in published.reports.values() for t in r.tables)
    claims = load_claims()
    compared: dict[str, list[str]] = {}
    for c in claims:
        for part in c.parts:
            a, b, _, _ = c.arms(part)
            compared.setdefault(c.study, [])
            compared[c.study] += [arm for arm in (a, b) if arm not in compared[c.study]]
    reference = store.load_reference()
    written = render_all(published, studies, results, profile, data_sizes() if has_data_table else {}, code=code,
                         reference=reference, compared=compared, base=profile_base(profile))
    groups = pilot.kinds(studies, profile)
    target = OUT / "claims.md"
    write_text(target, render_claims(claims, published, studies, results, profile, code, reference,
                                     pilot.pilot_records(groups, code), pilot.remaining(groups, code, workers),
                                     budget_hours))
    projected = OUT / f"pilot.{profile}.md"
    write_text(projected, pilot.render(*pilot.projection(groups, code, workers), profile, workers))
    return written + [target, projected]


def dry(args: argparse.Namespace) -> int:
    """The dry run's table, written after every variant (and its rows beside it, so that a cut-off dry run resumes
    where it stopped); exit status 1 when any variant failed."""
    import torch

    from mtbert.data.sources import checkpoint_dir
    from mtbert.experiments import dry as D

    studies = table_studies()
    unknown = sorted(set(args.only or []) - set(studies))
    if unknown:
        raise SystemExit(f"--only: no table studies {unknown}; studies: {sorted(studies)}")
    checkpoint = profile_base(args.profile)["model"]["checkpoint"]
    shape = D.shape_of(Path("data/raw") / checkpoint_dir(checkpoint))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    target = args.out or OUT / f"dry-run.{args.profile}.md"
    rows = target.with_suffix(".json")
    code = code_version(strict=False)
    key = {"profile": args.profile, "code": code, "steps": args.steps, "eval_rows": args.eval_rows, "device": device,
           "only": args.only, "cover": args.grid_cover}
    planned = D.planned(studies, args.only, args.grid_cover)

    def write(results: list) -> None:
        D.save_rows(rows, results, key)
        write_text(target, D.render(results, args.profile, checkpoint, shape, args.checkpoint if shape else None,
                                    device, planned, args.eval_rows, code))

    results = D.dry_run(studies, args.profile, args.steps, only=args.only, cover=args.grid_cover,
                        eval_rows=args.eval_rows, done=D.load_rows(rows, key), on_result=write)
    write(results)
    print("wrote", target, "and", rows)
    return int(any(not r.ok for r in results))


def tables_main(argv: list[str] | None = None) -> None:
    own_bin_first()  # the dvc and git of the environment running this, even when it is not on PATH
    ap = argparse.ArgumentParser(prog="mtbert tables", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["run", "render", "dry-run"])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--only", nargs="*", help="just these studies (file stems, e.g. 004-t1)")
    ap.add_argument("--pilot", action="store_true",
                    help="run only the pilot (the lowest seed of one variant of each kind of arm: experiments/pilot.py) "
                         "and write its projection of the whole profile to reports/tables/pilot.<profile>.md")
    ap.add_argument("--budget-hours", type=float, default=plan.BUDGET_HOURS,
                    help="after the studies' own seeds, comparisons undecided at the seed plan's first look get the "
                         "seeds of its second (analysis/plan.py) while the profile's runs at this code so far took less "
                         "wall time than this (0: none; 24: the cpu profile's limit on 2 cores)")
    add_executor_args(ap)
    ap.add_argument("--steps", type=int, default=2, help="dry-run: training steps per stage")
    ap.add_argument("--checkpoint", default="bert-base", choices=sorted(SHAPES),
                    help="dry-run: also project the full runs' time at this encoder's size")
    ap.add_argument("--grid-cover", action="store_true",
                    help="dry-run: of a sweep's grid, only cells that together take every value of every axis")
    ap.add_argument("--eval-rows", type=int, default=256,
                    help="dry-run: score only the first this many rows of each dev and test split (0: all)")
    ap.add_argument("--out", type=Path, default=None, help="dry-run: where the table goes (default reports/tables/"
                                                            "dry-run.<profile>.md)")
    args = ap.parse_args(argv)
    if args.action == "dry-run":
        raise SystemExit(dry(args))
    if args.action == "run":
        studies = table_studies()
        unknown = sorted(set(args.only or []) - set(studies))
        if unknown:
            raise SystemExit(f"--only: no table studies {unknown}; studies: {sorted(studies)}")
        code = code_version()
        executor = executor_of(args)
        todo = [r for name, s in studies.items() if not args.only or name in args.only
                for r in runner.missing(s, args.profile, code)]
        groups = pilot.kinds(studies, args.profile)
        if args.pilot:
            pilots = {g.pilot.name for g in groups}
            todo = [r for r in todo if r.name in pilots]
        print(f"{len(todo)} runs missing at profile {args.profile}", flush=True)

        def run(todo: list) -> None:
            failed = runner.run(pilot.with_expected(todo, groups, code), executor, code)
            if failed:
                for path in render(args.profile, args.workers or 2, args.budget_hours):
                    print("wrote", path)
                raise SystemExit(f"{len(failed)} runs failed every attempt (see above); rerun to retry them")

        run(todo)
        if not args.only and not args.pilot and args.executor != "queue":
            extend(load_claims(), studies, load_published(), args.profile, code, store.load_reference(),
                   args.budget_hours, run=run)
    for path in render(args.profile, args.workers or 2, args.budget_hours):
        print("wrote", path)


if __name__ == "__main__":
    tables_main(sys.argv[1:])
