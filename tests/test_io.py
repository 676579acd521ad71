"""Atomic outputs: a directory is replaced whole or not at all, and a kill between the two renames loses nothing."""

import os

import pytest

from mtbert.io import atomic_dir, recover_dir, stage_disabled


def write(path, text):
    with atomic_dir(path) as tmp:
        (tmp / "f.txt").write_text(text)


def test_atomic_dir_replaces_the_whole_directory_and_leaves_no_staging(tmp_path):
    target = tmp_path / "out"
    write(target, "one")
    (target / "stale.txt").write_text("x")
    write(target, "two")
    assert sorted(p.name for p in target.iterdir()) == ["f.txt"] and (target / "f.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failure_inside_keeps_the_old_directory(tmp_path):
    target = tmp_path / "out"
    write(target, "one")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "f.txt").write_text("half")
        raise RuntimeError("killed")
    assert (target / "f.txt").read_text() == "one" and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_kill_between_the_renames_is_recovered(tmp_path):
    target = tmp_path / "out"
    write(target, "one")
    os.replace(target, tmp_path / ".out.previous")  # where atomic_dir had got to when killed
    recover_dir(target)
    assert (target / "f.txt").read_text() == "one" and not (tmp_path / ".out.previous").exists()
    write(target, "two")
    (tmp_path / ".out.previous").mkdir()  # killed after the new one was in place: the aside copy is dropped
    recover_dir(target)
    assert (target / "f.txt").read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_disabled_stage_leaves_only_markers_in_its_outputs_and_an_enabled_one_touches_nothing(tmp_path, capsys):
    model, live = tmp_path / "model", tmp_path / "live"
    write(model, "weights from an earlier enabled run")
    assert stage_disabled(True, model, live, why="on") is False
    assert (model / "f.txt").exists() and not live.exists() and capsys.readouterr().out == ""
    assert stage_disabled(False, model, live, why="stage off: nothing to do") is True
    assert [p.name for p in model.iterdir()] == ["DISABLED.json"] == [p.name for p in live.iterdir()]
    assert capsys.readouterr().out == "stage off: nothing to do\n"
