"""A dry run of a table profile: every variant of every table study at the profile's real settings (batch sizes, max
lengths, stages switched on, heads, methods), each training stage cut to a couple of steps on a small sample, run by
the pipeline's own stage scripts in a scratch workspace that reads this one's data. No table result is written. Per
variant: ok or the error, the peak memory, the seconds per training step measured, and the full run's projected
training time (steps x seconds per step, plus the dry run's own fixed cost), also for another checkpoint's size.

    mtbert tables dry-run --profile gpu [--steps 2] [--checkpoint bert-base] [--only 004-t1]
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mtbert.experiments.provenance import code_version
from mtbert.experiments.record import NON_FINITE
from mtbert.experiments.study import Study, profile_base
from mtbert.experiments.workspace import entered, run_stages
from mtbert.model.bert import BertConfig

ONE_TASK_STEPS = ("round_robin", "annealed", "sequential")  # schedules with one task's batch per step
# Encoder shapes a projection can scale to: (layers, hidden, intermediate); FLOPs per token ~ L (4 d^2 + 2 d ff)
SHAPES = {"minilm": (6, 384, 1536), "bert-base": (12, 768, 3072), "bert-large": (24, 1024, 4096)}


def dry_limits(params: dict[str, Any], steps: int) -> dict[str, Any]:
    """The overrides that cut every training stage to `steps` steps on a small sample (the rest stays as set)."""
    batch = params.get("train.batch_size", 16)
    out = {"train.epochs": 1, "train.epoch": "steps", "train.steps_per_epoch": steps, "train.save_state_every": 0,
           "train.max_train_examples": max(64, 2 * steps * batch), "evaluate.bootstrap.resamples": 20}
    if params.get("pretrain_mlm.enabled"):
        out |= {"pretrain_mlm.epochs": 1, "pretrain_mlm.steps_per_epoch": steps, "pretrain_mlm.max_reviews": 40,
                "pretrain_mlm.heldout_reviews": 8, "pretrain_mlm.save_state_every": 0}
    if params.get("pretrain_heads.enabled"):
        out |= {"pretrain_heads.epochs": 1, "pretrain_heads.epoch": "steps", "pretrain_heads.steps_per_epoch": steps}
    return out


def training_steps(params: dict[str, Any], sizes: dict[str, int], prefix: str = "train") -> int:
    """The steps a full run of the finetune (or pretrain_heads) stage takes at these params and training-set sizes."""
    get = lambda key, default=None: params.get(f"{prefix}.{key}", params.get(f"train.{key}", default))  # noqa: E731
    tasks = params.get("train.tasks", ["sst", "quora", "sts"])
    limit = params.get("train.max_train_examples")
    batch = get("batch_size", 16)
    batches = {t: -(-min(sizes.get(t, 0), limit or sizes.get(t, 0)) // batch) for t in tasks}
    kind = get("epoch", "steps")
    one_task = params.get("train.schedule") in ONE_TASK_STEPS
    per_epoch = {"steps": get("steps_per_epoch") or 0, "largest": max(batches.values()),
                 "smallest": min(batches.values()),
                 "one_pass": sum(batches.values()) if one_task else max(batches.values())}[kind]
    return int(get("epochs", 1)) * int(per_epoch)


def flops_ratio(shape: str, base: str = "minilm") -> float:
    (l1, d1, f1), (l0, d0, f0) = SHAPES[shape], SHAPES[base]
    return l1 * (4 * d1 * d1 + 2 * d1 * f1) / (l0 * (4 * d0 * d0 + 2 * d0 * f0))


def shape_of(checkpoint_dir: Path) -> str | None:
    """Which of SHAPES a checkpoint's config is (None when none)."""
    try:
        cfg = BertConfig.from_json(checkpoint_dir / "config.json")
    except (OSError, ValueError, KeyError):
        return None
    return next((n for n, s in SHAPES.items() if s == (cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size)),
                None)


@dataclass
class DryResult:
    study: str
    variant: str
    ok: bool
    error: str = ""
    no_dev_score: bool = False  # it ran, but a dev metric was NaN after so few steps (a dead head): an outcome
    seconds: float = 0.0
    peak_mb: float | None = None
    seconds_per_step: float | None = None
    steps: int = 0
    projected_hours: float | None = None


def _last(path: Path) -> float | None:
    if not path.exists():
        return None
    df = pd.read_csv(path, sep="\t")
    return float(df[df.columns[-1]].iloc[-1]) if len(df) else None


def run_variant(study: Study, variant: str, profile: str, steps: int, root: Path, workspace: Path,
                memo: Path, eval_rows: int = 0, code: str = "") -> DryResult:
    """Every enabled stage of one variant, in this process, from a fresh scratch workspace."""
    flat = study.overrides(profile, variant, study.seeds_of(variant)[0], profile_base(profile, root / "profiles" / "tables"))
    result = DryResult(study.name, variant, ok=True)
    start = time.perf_counter()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        with entered(root, workspace, flat | dry_limits(flat, steps), eval_rows) as params:
            run_stages(workspace, params, code, memo)
        result.seconds = time.perf_counter() - start
        result.seconds_per_step = _last(workspace / "dvclive/finetune/plots/metrics/time/seconds_per_step.tsv")
        gpu = _last(workspace / "dvclive/finetune/plots/metrics/time/peak_memory_mb.tsv")
        result.peak_mb = gpu if torch.cuda.is_available() else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except Exception as err:  # noqa: BLE001 - every failure is the variant's finding, reported in its row
        result.seconds = time.perf_counter() - start
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
        if any(marker in result.error for marker in NON_FINITE):
            result.no_dev_score = True  # the stages ran; what training gave after a step or two is not the question
        else:
            result.ok = False
            traceback.print_exc(limit=3, file=sys.stderr)
    if result.ok and result.seconds_per_step is not None:
        sizes = {t: len(pd.read_csv(root / "data" / "prepared" / t / "train.csv")) for t in
                 flat.get("train.tasks", ["sst", "quora", "sts"])}
        result.steps = training_steps(flat, sizes)
        fixed = result.seconds - steps * result.seconds_per_step
        result.projected_hours = (result.steps * result.seconds_per_step + fixed) / 3600
    return result


def grid_cover(study: Study) -> list[str]:
    """A few cells of a study's grid that together take every value of every axis (the diagonal, wrapped)."""
    axes = list(study.grid.axes.values())
    names = list(study.grid.axes)
    longest = max(len(a.values) for a in axes)
    return [study.grid.name.format(**{n: a.label(i % len(a.values)) for n, a in zip(names, axes)}) for i in range(longest)]


def variants_of(study: Study, cover: bool) -> list[str]:
    if study.same_runs_as:
        return []
    if not cover or study.grid is None:
        return list(study.all_variants())
    return list(study.variants) + [v for v in grid_cover(study) if v not in study.variants] + [
        v for v in study.more_seeds if v not in study.variants and v not in grid_cover(study)]


def dry_run(studies: dict[str, Study], profile: str, steps: int = 2, root: Path = Path("."),
            workspace: Path = Path(".dry-run/workspace"), only: list[str] | None = None,
            memo: Path = Path(".dry-run/memo"), cover: bool = False, eval_rows: int = 0,
            done: dict[tuple[str, str], DryResult] | None = None,
            on_result: Callable[[list[DryResult]], None] | None = None) -> list[DryResult]:
    """Every variant of the studies (`only`: these) at `profile` (`cover`: of a grid, only cells that take every
    value of every axis, and those a claim compares), those in `done` taken as they are (a resumed dry run);
    `on_result` gets the rows so far after each variant. The scratch workspace goes afterwards."""
    root, workspace, memo = root.resolve(), workspace.resolve(), memo.resolve()  # the runs change directory
    code = code_version(strict=False)
    memo.mkdir(parents=True, exist_ok=True)
    out = []
    for name, study in studies.items():
        if only and name not in only:
            continue
        for variant in variants_of(study, cover):
            if done and (name, variant) in done:
                out.append(done[(name, variant)])
                continue
            r = run_variant(study, variant, profile, steps, root, workspace, memo, eval_rows, code)
            print(f"{name} {variant}: {status(r)} ({r.seconds:.0f} s)", flush=True)
            out.append(r)
            if on_result:
                on_result(out)
    shutil.rmtree(workspace, ignore_errors=True)
    return out


def planned(studies: dict[str, Study], only: list[str] | None = None, cover: bool = False) -> int:
    """How many variants a dry run of these studies runs."""
    return sum(len(variants_of(s, cover)) for n, s in studies.items() if not only or n in only)


def status(r: DryResult) -> str:
    if not r.ok:
        return f"**{r.error}**"
    return "ok (no dev score after these steps: constant predictions)" if r.no_dev_score else "ok"


def render(results: list[DryResult], profile: str, checkpoint: str | None, shape: str | None, scale_to: str | None,
           device: str, planned: int | None = None, eval_rows: int = 0, code: str = "") -> str:
    ratio = flops_ratio(scale_to, shape) if scale_to and shape else None
    head = ["study", "variant", "result", "peak MB", "s/step", "steps (full run)", f"projected h ({shape or 'this model'})"]
    if ratio:
        head.append(f"projected h ({scale_to}, ×{ratio:.1f} FLOPs per token)")
    lines = [f"# Dry run of the `{profile}` table profile", "",
             f"Every variant of every table study at the profile's settings, each training stage cut to a few steps on a "
             f"small sample (`mtbert tables dry-run --profile {profile}`), on {device} with `{checkpoint}`. "
             "Projected training time: the full run's steps times the seconds per step measured here, plus this dry "
             "run's own fixed cost (process work, one dev scoring, evaluate); it leaves out the full run's further dev "
             "scorings (one per epoch) and, for another checkpoint, scales by FLOPs per token alone. Peak memory: the "
             "GPU's peak allocation, or on CPU the process's peak resident size so far (all variants run in one "
             "process, so it only bounds each)."
             + (f" Dev and test splits cut to their first {eval_rows} rows, so evaluation is not projected either."
                if eval_rows else "") + (f" Pipeline code `{code}`." if code else ""), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = 0.0
    for r in results:
        hours = f"{r.projected_hours:.2f}" if r.projected_hours is not None else "–"
        total += r.projected_hours or 0.0
        row = [r.study, r.variant, status(r), f"{r.peak_mb:.0f}" if r.peak_mb else "–",
               f"{r.seconds_per_step:.3f}" if r.seconds_per_step else "–", str(r.steps or "–"), hours]
        if ratio:
            row.append(f"{r.projected_hours * ratio:.2f}" if r.projected_hours is not None else "–")
        lines.append("| " + " | ".join(row) + " |")
    failed = sum(not r.ok for r in results)
    so_far = f" of {planned} (the rest not run yet; rerun the command to resume)" if planned and planned > len(results) else ""
    lines += ["", f"{len(results)} variants{so_far}, {failed} failed; projected total {total:.1f} h"
              + (f" ({total * ratio:.1f} h at {scale_to}'s size)" if ratio else "") + " for one seed of each."]
    return "\n".join(lines) + "\n"



def save_rows(target: Path, results: list[DryResult], key: dict[str, Any]) -> None:
    """The rows so far, with what they were measured at (a resumed dry run keeps them only while that holds)."""
    from mtbert.io import write_json

    write_json(target, {"key": key, "rows": [asdict(r) for r in results]})


def load_rows(target: Path, key: dict[str, Any]) -> dict[tuple[str, str], DryResult]:
    """The rows a dry run with the same key already measured (none when the key differs or there is no file)."""
    import json

    if not target.exists():
        return {}
    kept = json.loads(target.read_text())
    if kept.get("key") != key:
        return {}
    return {(r["study"], r["variant"]): DryResult(**r) for r in kept["rows"]}
