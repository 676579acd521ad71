"""mtbert bench: time our training step against the loop a careful user writes (transformers, dynamic padding,
fused AdamW) and the max_length-padded one on the same batches, the gradient methods against sum, each FLOP rate
against this machine's measured peak, and cost against data size and max_length; write reports/performance.md."""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path

import torch

from mtbert.bench import render
from mtbert.bench.measure import measure
from mtbert.bench.peak import gemm_peak, paired_ratio
from mtbert.bench.scaling import batch_costs
from mtbert.bench.workload import SAMPLE_ROWS, load_workload, non_embedding_dims, pad_step, step_size, training_flops
from mtbert.data.prepared import load_split
from mtbert.io import write_json, write_text
from mtbert.model.bert import BertConfig
from mtbert.report.results import git_commit
from mtbert.train.setup import PREPARED

QUORA_CS224N_TRAIN = 141_506  # pairs in CS224N's quora-train.csv


def _mean_tokens(steps) -> float:
    """Tokens per step the encoder runs on, padding included."""
    return sum(b["attention_mask"].numel() for s in steps for b in s.values()) / len(steps)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="mtbert bench", description=__doc__)
    ap.add_argument("--steps", type=int, default=6, help="timed summed steps per configuration")
    ap.add_argument("--warmup", type=int, default=1, help="untimed passes over the steps before timing them")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every configuration but the max_length-padded "
                                                          "loop (medians and paired ratios are reported)")
    ap.add_argument("--shapes", default="minilm,bert-base")
    ap.add_argument("--methods", default="sum,pcgrad,mtrec,upgrad,mgda")
    ap.add_argument("--loops", default=None, help="default: ours,anchor,anchor+buckets,standard (and ours+compile on "
                                                  "a GPU)")
    ap.add_argument("--max-lengths", default="32,64,128,256", help="for the scaling tables; empty: skip them")
    ap.add_argument("--all-standard", action="store_true", help="every method in the standard loop on every shape")
    ap.add_argument("--out", type=Path, default=Path("reports/performance.md"))
    args = ap.parse_args(argv)

    work = load_workload(args.steps)
    mcfg, tcfg, checkpoint, tokenizer, steps = work.mcfg, work.tcfg, work.checkpoint, work.tokenizer, work.steps
    padded = [pad_step(s, mcfg.max_length, tokenizer.pad_id) for s in steps]
    fed = {"anchor": work.random_steps, "standard": padded}  # every other loop: training's bucketed batches
    sizes = [step_size(s) for s in steps]
    real_tokens = sum(s.real_tokens for s in sizes) / len(sizes)
    sequences = sum(s.sequences for s in sizes) / len(sizes)
    dims = {"minilm": non_embedding_dims(BertConfig.from_json(checkpoint / "config.json")),
            "bert-base": non_embedding_dims(BertConfig())}
    loops = (args.loops or ("ours,ours+compile,anchor,anchor+buckets,standard" if torch.cuda.is_available() else
                            "ours,anchor,anchor+buckets,standard")).split(",")
    plan = []  # (shape, loop, method): the anchor runs what users run (sum), the padded loop its methods on MiniLM only
    for shape in args.shapes.split(","):
        for loop in loops:
            for m in args.methods.split(","):
                if loop.startswith("ours") or m == "sum" or args.all_standard or (loop == "standard" and shape == "minilm"):
                    plan.append((shape, loop, m))
    timings: dict[tuple, list] = {key: [] for key in plan}
    for r in range(args.rounds):  # rounds outermost: a round's ours, anchor and sum steps share the machine's state
        for shape, loop, method in plan:
            if loop == "standard" and r > 0:
                continue  # the max_length-padded loop is far slower; one round places it
            t = measure(loop, shape, method, mcfg, tcfg, checkpoint, fed.get(loop, steps), args.warmup)
            timings[(shape, loop, method)].append(t)
            print(f"{shape:9s} {loop:14s} {method:6s} round {r + 1}/{args.rounds} {t.seconds_per_step:7.3f} s/step  "
                  f"{real_tokens / t.seconds_per_step:9,.0f} tok/s  {t.peak_memory_mb:8,.0f} MB", flush=True)
    peak = render.peak_flops() or gemm_peak()  # the GPU's dense bf16 peak, or this CPU's measured fp32 GEMM rate
    rows = []
    for (shape, loop, method), ts in timings.items():
        seconds = statistics.median(t.seconds_per_step for t in ts)
        flops = sum(training_flops(*dims[shape], s.lengths) for s in sizes) / len(sizes)
        row = {"shape": shape, "loop": loop, "method": method, "seconds_per_step": seconds,
               "round_seconds": [t.seconds_per_step for t in ts],
               "peak_memory_mb": max(t.peak_memory_mb for t in ts), "tokens_per_s": real_tokens / seconds,
               "sequences_per_s": sequences / seconds, "flops_per_s": flops / seconds, "of_peak": flops / seconds / peak}
        base = timings.get((shape, loop, "sum"))
        if base:  # paired by round: a method's step over the same round's sum step
            row["cost_vs_sum"] = [t.seconds_per_step / b.seconds_per_step for t, b in zip(ts, base)]
        for anchor_loop, key in (("anchor", "vs_anchor"), ("anchor+buckets", "vs_anchor_buckets")):
            anchor = timings.get((shape, anchor_loop, "sum"))
            if loop.startswith("ours") and method == "sum" and anchor:  # the anchor's seconds over ours, round by round
                row[key] = paired_ratio([a.seconds_per_step for a in anchor], [t.seconds_per_step for t in ts])
        rows.append(row)
    costs = []
    for length in [int(x) for x in args.max_lengths.split(",") if x]:
        c = batch_costs(mcfg, tcfg, checkpoint, PREPARED, length)
        costs.append(dataclasses.asdict(c))
        print(f"max_length {length}: {c.seconds_per_batch} s/batch, optimizer {c.seconds_per_optimizer_step:.3f} s, "
              f"{c.peak_memory_mb:,.0f} MB", flush=True)
    train_sizes = {t: len(load_split(PREPARED, t, "train")) for t in tcfg.tasks}
    meta = {"commit": git_commit(), "machine": render.machine(), "steps": args.steps, "warmup": args.warmup,
            "rounds": args.rounds, "peak_flops": peak, "peak_kind": "GPU dense bf16 peak" if render.peak_flops() else
            "measured fp32 GEMM (2048 x 2048, best of 5)",
            "batch_size": tcfg.batch_size, "max_length": mcfg.max_length, "checkpoint": mcfg.checkpoint,
            "real_tokens_per_step": real_tokens,
            "padded_tokens_per_step": _mean_tokens(padded),
            "bucketed_tokens_per_step": _mean_tokens(steps), "random_tokens_per_step": _mean_tokens(work.random_steps),
            "scaling_batches": 8, "scaling_rows": SAMPLE_ROWS, "quora_full": QUORA_CS224N_TRAIN}
    write_json(args.out.with_suffix(".json"), {"meta": meta, "steps": rows, "scaling": costs, "train_sizes": train_sizes})
    text = render.render(meta, rows, costs, train_sizes)
    write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
