"""Training until dev levels off: the patience rule on hand-made dev histories, a run that stops at its plateau and
records why, and a killed run that resumes with its patience counter and stops where the uninterrupted one stops."""

from __future__ import annotations

import json

import pytest
from test_resume import kill_and_resume, result, run, workspace

from mtbert.config.train import PlateauConfig, TrainConfig, evaluations_without_gain, selection
from mtbert.train.loop import stop_record


def _history(*overall: float) -> list[dict]:
    return [{"overall": x} for x in overall]


def test_evaluations_without_gain_count_from_the_last_gain_above_min_delta():
    assert evaluations_without_gain(_history(0.50, 0.52, 0.521, 0.519), 0.0) == 1  # 0.521 was a gain; 0.519 not
    assert evaluations_without_gain(_history(0.50, 0.52, 0.521, 0.519), 0.005) == 2  # +0.001 is below min_delta
    assert evaluations_without_gain(_history(0.50, 0.52, 0.53), 0.005) == 0
    assert evaluations_without_gain(_history(float("nan"), 0.5), 0.0) == 0  # NaN is never a gain, nor a best


def test_the_stop_record_tells_a_plateau_from_a_cap_still_rising():
    cfg = TrainConfig(plateau=PlateauConfig(patience=2, min_delta=0.005))
    assert cfg.plateaued(_history(0.50, 0.52, 0.521, 0.519))
    assert stop_record(cfg, _history(0.50, 0.52, 0.521, 0.519), 10) == {
        "epoch": 4, "cap": 10, "by": "plateau", "still_rising": False, "patience": 2, "min_delta": 0.005}
    rising = stop_record(cfg, _history(0.50, 0.52, 0.53), 3)
    assert rising["by"] == "cap" and rising["still_rising"]
    assert not stop_record(cfg, _history(0.50, 0.52, 0.521), 3)["still_rising"]  # levelling, not yet patient enough
    assert not TrainConfig().plateaued(_history(0.5, 0.4, 0.3, 0.2))  # patience 0: off


def test_select_on_names_the_metric_that_keeps_the_checkpoint_and_stops_the_run():
    history = [{"overall": 0.50, "sst_acc": 0.40}, {"overall": 0.52, "sst_acc": 0.39}, {"overall": 0.53, "sst_acc": 0.38}]
    assert evaluations_without_gain(history, 0.0) == 0  # overall still rising
    assert evaluations_without_gain(history, 0.0, "sst_acc") == 2  # SST fell after the first evaluation
    assert TrainConfig(plateau=PlateauConfig(patience=2), select_on="sst_acc").plateaued(history)
    assert not TrainConfig(plateau=PlateauConfig(patience=2)).plateaued(history)
    assert selection(history[1], "sst_acc") == 0.39
    assert selection({"quora_acc": 0.8}, "sst_acc") == 0.8  # a run without SST: its own metric


@pytest.fixture(scope="module")
def plateau_run(tmp_path_factory):
    """Patience 2 with a min_delta nothing can reach: epochs 2 and 3 bring no gain, so it stops after 3 of at most 5."""
    path = workspace(tmp_path_factory.mktemp("plateau") / "ws", epochs=5, plateau={"patience": 2, "min_delta": 1.0})
    done = run(path)
    assert done.returncode == 0, done.stderr[-3000:]
    return path, result(path)


def test_a_run_stops_at_its_plateau_and_records_where_and_why(plateau_run):
    path, _ = plateau_run
    stopped = json.loads((path / "models" / "finetuned" / "run.json").read_text())["stopped"]
    assert stopped == {"epoch": 3, "cap": 5, "by": "plateau", "still_rising": False, "patience": 2, "min_delta": 1.0}
    steps = (path / "dvclive" / "finetune" / "plots" / "metrics" / "dev" / "overall.tsv").read_text().splitlines()
    assert len(steps) == 1 + 3  # header and three dev evaluations: epochs 4 and 5 never ran


# the 7th state is mid-epoch 3 (2 per epoch mid-way and one at each epoch's end): the patience counter so far (one
# evaluation without a gain) comes back with the dev history, and the resumed run stops after epoch 3 as well
def test_a_killed_run_resumes_its_patience_and_stops_where_the_whole_run_stops(tmp_path, plateau_run):
    _, expected = plateau_run
    path = workspace(tmp_path / "ws", epochs=5, plateau={"patience": 2, "min_delta": 1.0})
    kill_and_resume(path, tmp_path, 7)
    weights, record = result(path)
    assert record == expected[1]
    assert all((weights[k] == expected[0][k]).all() for k in weights)
    assert json.loads((path / "models" / "finetuned" / "run.json").read_text())["stopped"]["epoch"] == 3
