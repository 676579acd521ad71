"""Table runs as submitit jobs: real subprocesses through submitit's local executor, each in a workspace of its own at
the committed code, give the pages the sequential runner gives, byte for byte; a job killed mid-run is retried."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_tables import _fake_runs, tiny_repo  # noqa: F401 - the fixture

# The job's "experiment": the sequential test's fake numbers; the first attempt of fancy@seed0 is killed (SIGKILL)
# once, as a pre-empted job would be.
FAKE = '''
import os, signal
from pathlib import Path

def run(spec):
    marker = Path(os.environ["FAKE_MARKERS"]) / spec.exp_name
    if spec.exp_name == "9-t1-fancy-seed0" and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    seed = spec.overrides["train.seed"]
    sst = 0.40 + 0.01 * seed + (0.03 if spec.variant == "fancy" else 0.0)
    return {"variant": spec.variant, "overrides": spec.overrides,
            "metrics": {"dev": {"sst_acc": sst, "overall": 0.6 + sst / 10}}, "status": "ok", "wall_seconds": 1.0,
            "seen": {"path": os.environ["PYTHONPATH"].split(os.pathsep)[0], "cwd": os.getcwd(),
                     "threads": os.environ.get("OMP_NUM_THREADS")}}
'''


def pages(repo):
    return {p.name: p.read_bytes() for p in (repo / "reports" / "tables").glob("*.md")}


def test_jobs_through_submitits_local_executor_render_what_the_sequential_runner_renders(tiny_repo, tmp_path,  # noqa: F811
                                                                                      monkeypatch):
    from mtbert.experiments import runner
    from mtbert.experiments.cli import render
    from mtbert.experiments.cli import tables_main as main
    from mtbert.experiments.executors import jobs
    from mtbert.experiments.provenance import code_version
    from mtbert.experiments.study import table_studies

    twin = tmp_path / "twin"
    shutil.copytree(tiny_repo, twin)
    _fake_runs(monkeypatch)  # in-process fakes giving the same numbers
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    sequential = pages(tiny_repo)

    monkeypatch.chdir(twin)
    (tmp_path / "fakes").mkdir()
    (tmp_path / "fakes" / "fakejobs.py").write_text(FAKE)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path / 'fakes'}:{':'.join(sys.path)}")
    monkeypatch.setenv("FAKE_MARKERS", str(tmp_path / "markers"))
    studies = table_studies()
    code = code_version()
    todo = [r for s in studies.values() for r in runner.missing(s, "tiny", code)]
    assert len(todo) == 4
    failed = runner.run(todo, jobs.Jobs("local", workers=2, retries=1, runner="fakejobs:run", poll_s=0.5), code)
    assert failed == []
    results = json.loads((twin / "reports" / "tables" / "results" / "9-t1.tiny.json").read_text())
    assert results["fancy@seed0"]["attempts"] == 2 and results["plain@seed0"]["attempts"] == 1  # killed, retried
    assert (tmp_path / "markers" / "9-t1-fancy-seed0").exists()
    for record in results.values():  # each job on its share of the cores, its stages importing its workspace's code
        assert record["seen"]["threads"] == str(max(1, (os.cpu_count() or 1) // 2))
        assert record["seen"]["path"] == str(Path(record["seen"]["cwd"]) / "src")
    workspaces = sorted(p.name for p in (twin / ".jobs" / "workspaces").iterdir())
    assert workspaces == ["cpu0", "cpu1"]  # two workers, each its own clone at the committed code
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=twin, capture_output=True, text=True).stdout
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=twin / ".jobs" / "workspaces" / "cpu0",
                          capture_output=True, text=True).stdout == head
    render("tiny", budget_hours=0)  # the budget the sequential run rendered with
    assert pages(twin) == sequential

    # rerunning submits only what is missing
    del results["plain@seed1"]
    (twin / "reports" / "tables" / "results" / "9-t1.tiny.json").write_text(json.dumps(results))
    todo = [r for s in studies.values() for r in runner.missing(s, "tiny", code)]
    assert [r.name for r in todo] == ["9-t1-plain-seed1"]


def test_a_job_that_fails_every_attempt_is_reported_and_nothing_is_written(tiny_repo, tmp_path, monkeypatch):  # noqa: F811
    from mtbert.experiments import runner, store
    from mtbert.experiments.executors import jobs
    from mtbert.experiments.provenance import code_version
    from mtbert.experiments.study import table_studies

    (tmp_path / "fakes").mkdir()
    (tmp_path / "fakes" / "broken.py").write_text("def run(spec):\n    raise RuntimeError('no such stage')\n")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path / 'fakes'}:{':'.join(sys.path)}")
    study = table_studies()["9-t1"]
    todo = runner.missing(study, "tiny", code_version())[:1]
    failed = runner.run(todo, jobs.Jobs("local", workers=1, retries=1, runner="broken:run", poll_s=0.5), code_version())
    assert [(r.name, message) for r, message in failed] == [("9-t1-plain-seed0", "RuntimeError: no such stage")]
    assert store.load(study, "tiny") == {}


@pytest.mark.parametrize("gpus,workers,expected", [(0, None, ["cpu0"]), (0, 3, ["cpu0", "cpu1", "cpu2"]),
                                                   (2, 5, ["gpu0", "gpu1"])])
def test_one_local_slot_per_gpu_or_per_cpu_worker(monkeypatch, gpus, workers, expected):
    import torch

    from mtbert.experiments.executors import jobs

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    slots = jobs.local_slots(workers, cores=2)
    assert [s.name for s in slots] == expected and all((s.gpu is not None) == (gpus > 0) for s in slots)


def test_cpu_workers_share_the_cores_out_as_threads():
    from mtbert.experiments.executors import jobs

    assert [s.env() for s in jobs.local_slots(2, cores=2)] == [{"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}] * 2
    assert [s.threads for s in jobs.local_slots(3, cores=16)] == [5, 5, 5]
    assert jobs.local_slots(1, cores=2)[0].env() == {}  # one worker: torch's own default (every core)


SLEEPER = '''
import time
from mtbert.experiments.executors.dvc import threads

def run(spec):
    time.sleep(0.5)
    return {"variant": spec.variant, "status": "ok", "metrics": {}, "threads": threads(),
            "wall_seconds": 0.5, "cpu_seconds": 0.0}
'''


def test_the_throughput_benchmark_runs_the_same_runs_on_each_worker_count(tiny_repo, tmp_path, monkeypatch):  # noqa: F811
    from mtbert.experiments.provenance import code_version
    from mtbert.bench.throughput import measure, pending, render

    (tmp_path / "fakes").mkdir()
    (tmp_path / "fakes" / "sleeper.py").write_text(SLEEPER)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path / 'fakes'}:{':'.join(sys.path)}")
    todo = pending("9-t1", "fancy", 2, "tiny", {"train.epochs": 1})
    assert [p.overrides["train.seed"] for p in todo] == [0, 1] and all(p.overrides["train.epochs"] == 1 for p in todo)
    rows = [measure(todo, w, tmp_path / "scratch", tiny_repo, code_version(), entry="sleeper:run") for w in (1, 2)]
    assert [(r["workers"], r["runs"]) for r in rows] == [(1, 2), (2, 2)]
    assert [r["threads"] for r in rows] == [os.cpu_count() or 1, max(1, (os.cpu_count() or 1) // 2)]
    assert not (tiny_repo / "reports" / "tables" / "results").exists()  # the benchmark's results stay in its scratch
    page = render(rows, "9-t1", "fancy", "tiny", {"train.epochs": 1})
    assert "| 1 | " in page and "| 2 | " in page and "1.00×" in page and "`train.epochs=1`" in page
