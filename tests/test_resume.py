"""A killed finetune resumes where it stopped: SIGKILL after a state was written, rerun, and the final weights and
metrics equal an uninterrupted run's, exactly (CPU); a state from other params is ignored, and the run says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from conftest import ROOT, write_tiny_checkpoint
from safetensors.torch import load_file

SENTENCES = ["the film is good", "a bad plot", "great actor", "dull and awful", "it was fun", "not very good",
             "the best movie", "what a dull film", "good fun", "bad actor"]
# SIGKILL the stage right after its n-th saved state (the test's fault injection; the stage's code is untouched)
KILLER = """import os, runpy, signal, sys
from mtbert.train import state
real, saves, after = state.StateStore.save, {"n": 0}, int(sys.argv[2])
def save(self, *args, **kwargs):
    real(self, *args, **kwargs)
    saves["n"] += 1
    if saves["n"] == after:
        os.kill(os.getpid(), signal.SIGKILL)
state.StateStore.save = save
stage = sys.argv[1]
sys.argv = [stage]
runpy.run_path(stage, run_name="__main__")
"""


def workspace(path: Path, lr: float = 1e-3, batch_size: int = 3, **train) -> Path:
    """What the finetune stage reads: params, dvc.yaml, a tiny checkpoint, tiny prepared tables."""
    path.mkdir(parents=True)
    shutil.copy(ROOT / "dvc.yaml", path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"].update(checkpoint="tiny/random-bert", max_length=32, pooling="mean",
                           heads={"sst": "linear", "quora": "siamese_concat", "sts": "cosine"})
    params["train"].update(dict(epochs=2, steps_per_epoch=6, batch_size=batch_size, lr=lr, save_state_every=2,
                                grad_diagnostics_every=2, eval_batch_size=8) | train)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    write_tiny_checkpoint(path / "data" / "raw" / "models" / "tiny" / "random-bert")
    (path / "models" / "pretrained").mkdir(parents=True)
    n = len(SENTENCES)
    for split in ("train", "dev"):
        ids = [f"{split}{i}" for i in range(n)]
        tables = {
            "sst": pd.DataFrame({"id": ids, "sentence": SENTENCES, "label": [i % 5 for i in range(n)]}),
            "quora": pd.DataFrame({"id": ids, "sentence1": SENTENCES, "sentence2": SENTENCES[::-1],
                                   "label": [i % 2 for i in range(n)]}),
            "sts": pd.DataFrame({"id": ids, "sentence1": SENTENCES, "sentence2": SENTENCES[1:] + SENTENCES[:1],
                                 "label": [(i * 0.7) % 5 for i in range(n)]}),
        }
        for task, df in tables.items():
            (path / "data" / "prepared" / task).mkdir(parents=True, exist_ok=True)
            df.to_csv(path / "data" / "prepared" / task / f"{split}.csv", index=False)
    return path


def run(path: Path, killer: Path | None = None, after: int = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")  # one thread: reductions in one order
    prefix = [str(killer)] if killer else []
    return subprocess.run([sys.executable, *prefix, str(ROOT / "stages" / "finetune.py"), *([str(after)] if killer else [])],
                          cwd=path, env=env, capture_output=True, text=True, timeout=600)


def kill_and_resume(path: Path, tmp_path: Path, after: int, launch=None, check_state=None) -> subprocess.CompletedProcess:
    """SIGKILL the stage after its `after`-th saved state, remove its outputs as DVC does before a rerun, rerun it
    (`launch`: how, default one process; `check_state`: called on the saved state in between); the rerun must resume
    from the state."""
    launch = launch or run
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    killed = launch(path, killer, after)
    assert killed.returncode != 0 and (path / ".state" / "finetune" / "state.json").exists()
    if check_state:
        check_state(json.loads((path / ".state" / "finetune" / "state.json").read_text()))
    shutil.rmtree(path / "models" / "finetuned", ignore_errors=True)
    shutil.rmtree(path / "dvclive", ignore_errors=True)
    resumed = launch(path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "train state: resuming from .state/finetune" in resumed.stdout
    return resumed


def result(path: Path) -> tuple[dict, dict]:
    weights = load_file(str(path / "models" / "finetuned" / "model.safetensors"))
    run_json = json.loads((path / "models" / "finetuned" / "run.json").read_text())
    curves = {p.relative_to(path).as_posix(): p.read_text() for p in (path / "dvclive" / "finetune").rglob("*.tsv")
              if "time" not in p.parts}
    return weights, {"best": run_json["best"], "curves": curves}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    path = workspace(tmp_path_factory.mktemp("whole") / "ws")
    done = run(path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "train state: no saved state: starting fresh" in done.stdout
    assert not (path / ".state" / "finetune").exists()  # removed once the stage completed
    return result(path)


# States are written at steps 2 and 4 of each 6-step epoch and at the end of epoch 1: the 2nd is mid-epoch 1 (a
# partial epoch log to carry on), the 4th mid-epoch 2 (the best checkpoint of epoch 1 to restore as well).
@pytest.mark.parametrize("after", [2, 4])
def test_a_killed_run_resumes_and_ends_exactly_where_an_uninterrupted_run_ends(tmp_path, uninterrupted, after):
    path = workspace(tmp_path / "ws")
    kill_and_resume(path, tmp_path, after)
    weights, record = result(path)
    expected_weights, expected_record = uninterrupted
    assert record == expected_record
    assert weights.keys() == expected_weights.keys()
    assert all((weights[k] == expected_weights[k]).all() for k in weights)


def test_a_state_from_other_params_is_ignored_with_a_message(tmp_path, uninterrupted):
    path = workspace(tmp_path / "ws")
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    assert run(path, killer, 2).returncode == -9
    params = yaml.safe_load((path / "params.yaml").read_text())
    params["train"]["lr"] = 2e-3
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    fresh = run(path)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "was written by other code or params" in fresh.stdout and "starting fresh" in fresh.stdout


def torchrun(path: Path, killer: Path | None = None, after: int = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    prefix = [str(killer)] if killer else []
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *prefix,
                           str(ROOT / "stages" / "finetune.py"), *([str(after)] if killer else [])],
                          cwd=path, env=env, capture_output=True, text=True, timeout=600)


def test_a_killed_two_rank_run_resumes_each_ranks_own_random_state_exactly(tmp_path):
    """Rank 0 is killed mid-epoch 1 right after its 2nd state; the resumed 2-rank run ends where an uninterrupted 2-rank
    run ends, head dropout on (each rank draws its own masks)."""
    whole = workspace(tmp_path / "whole", batch_size=4)  # every batch (10 rows: 4, 4, 2) splits over 2 ranks
    done = torchrun(whole)
    assert done.returncode == 0, done.stderr[-3000:]
    path = workspace(tmp_path / "ws", batch_size=4)

    def each_ranks_generators(state: dict) -> None:
        assert len(dict(state["state"]["__dict__"])["rng"]["__list__"]) == 2

    kill_and_resume(path, tmp_path, 2, torchrun, each_ranks_generators)
    weights, record = result(path)
    expected_weights, expected_record = result(whole)
    assert record == expected_record
    assert all((weights[k] == expected_weights[k]).all() for k in expected_weights)


def test_a_killed_run_with_weight_averaging_resumes_its_average_exactly(tmp_path):
    swa = {"weight_averaging": {"kind": "swa", "start": 0.5, "decay": 0.99}}  # steps 7-12 of 12 averaged
    whole = workspace(tmp_path / "whole", **swa)
    assert run(whole).returncode == 0
    path = workspace(tmp_path / "ws", **swa)
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    assert run(path, killer, 4).returncode == -9  # the 4th state: step 2 of epoch 2, the average holding 2 steps
    shutil.rmtree(path / "models" / "finetuned", ignore_errors=True)
    shutil.rmtree(path / "dvclive", ignore_errors=True)
    resumed = run(path)
    assert resumed.returncode == 0 and "train state: resuming from .state/finetune" in resumed.stdout
    (weights, record), (expected_weights, expected_record) = result(path), result(whole)
    assert record == expected_record and record["curves"]
    assert all((weights[k] == expected_weights[k]).all() for k in expected_weights)


def test_a_state_saved_on_one_device_resumes_its_epoch_log_on_the_runs_device():
    """A GPU run resumed mid-epoch appends device tensors to the restored log; the state was read onto the CPU. The meta
    device stands in for a GPU: before the fix, the epoch's end stacked CPU and device tensors and raised."""
    from collections import defaultdict

    from mtbert.train.epoch_log import EpochLog

    log = EpochLog()
    log.losses["sst"].append(torch.tensor(0.5))
    log.outputs["sst"].append(torch.zeros(2, 5))
    log.cosines["sst_sts"].append(torch.tensor(0.1))
    log.aux["sst_smart"].append(torch.tensor(1e-3))
    stale = EpochLog.from_state(log.state())  # as it was: left on the CPU
    with pytest.raises(RuntimeError):
        torch.stack(stale.losses["sst"] + [torch.tensor(0.4, device="meta")])
    moved = EpochLog.from_state(log.state(), "meta")
    moved.losses["sst"].append(torch.tensor(0.4, device="meta"))
    assert torch.stack(moved.losses["sst"]).shape == (2,)
    assert all(t.device.type == "meta" for t in moved.outputs["sst"] + moved.cosines["sst_sts"] + moved.aux["sst_smart"])
    assert isinstance(moved.losses, defaultdict) and moved.losses["quora"] == []  # still a defaultdict after the move
