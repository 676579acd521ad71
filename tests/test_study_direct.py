"""The direct executor (no DVC, no git): every (variant, seed) of a study runs the stage scripts in a scratch workspace,
N at once, with the same numbers whatever the number of workers; a broken run is named and the others kept; a
cut-off study resumes with what is missing."""

from __future__ import annotations

import json
import time

import yaml
from conftest import tiny_workspace

from mtbert.experiments.cli import study_main

STUDY = {"name": "tiny", "description": "direct executor test", "budget": {"train.epochs": 2,
                                                                         "train.steps_per_epoch": 3},
         "seeds": [0, 1], "variants": {"recipe": {}, "one_epoch": {"params": {"train": {"epochs": 1}}},
                                       "bad": {"params": {"train": {"method": "no_such_method"}}}}}


def run_direct(path, workers, commit, store, only):
    """`mtbert study run` through the direct executor: the keys of the runs that failed."""
    try:
        study_main(["run", str(path), "--executor", "direct", "--workers", str(workers), "--threads", "1",
                    "--commit", commit, "--store", str(store), "--only", *only])
    except SystemExit as exit_:
        assert "runs failed" in str(exit_)
        return sorted(f"{k}@seed{s}" for k in only for s in (0, 1)
                      if f"{k}@seed{s}" not in json.loads(store.read_text()))
    return []


def test_two_workers_give_every_run_the_numbers_one_worker_gives_and_a_rerun_resumes(tmp_path, mirror, monkeypatch):
    workspace = tiny_workspace(tmp_path, mirror)
    (workspace / "studies/tiny.yaml").write_text(yaml.safe_dump(STUDY))
    monkeypatch.chdir(workspace)
    two, one = workspace / "two.json", workspace / "one.json"
    failed = run_direct(workspace / "studies/tiny.yaml", 2, "abc", two, only=["recipe", "bad"])
    assert sorted(failed) == ["bad@seed0", "bad@seed1"]  # named; the other runs are kept
    run_direct(workspace / "studies/tiny.yaml", 2, "abc", two, only=["one_epoch"])
    runs = json.loads(two.read_text())
    assert sorted(runs) == ["one_epoch@seed0", "one_epoch@seed1", "recipe@seed0", "recipe@seed1"]
    assert all(r["commit"] == "abc" and r["direct"] and r["threads"] == 1 for r in runs.values())
    # when each ran and its CPU time, so that a profile's wall time counts runs at once once (analysis/cost.py)
    assert all(r["started"] <= r["finished"] and 0 < r["cpu_seconds"] for r in runs.values())
    # the variant's and the seed's params reached the run: one dev score per epoch, other numbers for another seed
    assert [len(runs[f"{v}@seed0"]["curves"]["overall"]) for v in ("recipe", "one_epoch")] == [2, 1]
    assert runs["recipe@seed0"]["metrics"] != runs["recipe@seed1"]["metrics"]

    kept = {k: v for k, v in runs.items() if k != "recipe@seed1"}
    one.write_text(json.dumps(kept))
    assert run_direct(workspace / "studies/tiny.yaml", 1, "abc", one, only=["recipe", "one_epoch"]) == []
    resumed = json.loads(one.read_text())
    assert {k: v["wall_seconds"] for k, v in resumed.items() if k != "recipe@seed1"} == \
        {k: v["wall_seconds"] for k, v in kept.items()}  # only the missing run ran again
    assert resumed["recipe@seed1"]["metrics"] == runs["recipe@seed1"]["metrics"]
    assert resumed["recipe@seed1"]["curves"] == runs["recipe@seed1"]["curves"]


def test_a_run_cut_off_and_resumed_records_the_time_of_both_legs(tmp_path):
    from mtbert.experiments.analysis.cost import elapsed_hours
    from mtbert.experiments.executors.ledger import Ledger

    path = tmp_path / ".state" / "ledger.json"
    first = Ledger(path, every=0.05).__enter__()  # a leg killed mid-way: never exited, its last write stays
    time.sleep(0.3)
    assert json.loads(path.read_text())["wall_seconds"] >= 0.2
    path.write_text(json.dumps({"wall_seconds": 600.0, "cpu_seconds": 550.0, "legs": 1}))  # what it had spent
    first._stop.set()
    first._thread.join()
    with Ledger(path, every=0.05) as second:
        sum(i * i for i in range(3_000_000))  # some CPU time of its own
        spent = second.totals()
    assert spent["legs"] == 2 and spent["earlier_wall_seconds"] == 600.0
    assert 600.0 <= spent["wall_seconds"] < 610 and 550.0 < spent["cpu_seconds"] < 560
    assert not path.exists()  # a finished leg leaves nothing for a later rerun of the same run to add
    with Ledger(path) as fresh:
        assert "legs" not in fresh.totals() and fresh.totals()["wall_seconds"] < 5
    # the profile's wall time: this leg's [started, finished] plus the earlier legs' seconds
    record = {"started": "2026-12-02T10:00:00+00:00", "finished": "2026-12-02T10:30:00+00:00",
              "earlier_wall_seconds": 1800.0}
    assert elapsed_hours([record]) == 1.0


def test_progress_says_what_is_left_at_the_pace_so_far():
    from mtbert.experiments.executors.direct import progress

    # 3 of 30 runs in 1.5 h: 0.5 h a run, 27 left -> 13.5 h
    assert progress(3, 30, "a@seed1", 613.4, 5400) == "[3/30] a@seed1 done in 613 s · 1.5 h elapsed, about 13.5 h left at this pace"
    assert progress(30, 30, "b@seed4", 90, 7200) == "[30/30] b@seed4 done in 90 s · 2.0 h elapsed"
    # weighted by the pilots' times: a quarter of the work done in 1.5 h -> 4.5 h left, whatever the count
    assert progress(3, 30, "a@seed1", 613.4, 5400, share_done=0.25).endswith("about 4.5 h left at this pace")


def test_shares_weight_runs_by_their_pilots_times():
    from types import SimpleNamespace

    from mtbert.experiments.executors.direct import shares

    runs = [SimpleNamespace(expected=e) for e in (300.0, 100.0, None)]
    assert shares(runs) == [0.5, 100 / 600, 200 / 600]  # the unknown run takes the known runs' mean
    assert shares([SimpleNamespace(expected=None)] * 4) == [0.25] * 4  # none known: by count
