"""The one `mtbert` command: its subcommands, their help, and the tools it finds in its own environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mtbert import cli
from mtbert.tools import own_bin_first, tool


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for name in ("run", "study", "tables", "bench", "predict", "params", "profile", "layout"):
        assert f"    {name}" in out


@pytest.mark.parametrize("command", ["study", "tables", "bench", "predict", "params", "profile", "layout"])
def test_each_subcommand_explains_itself_under_its_own_name(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0 and f"usage: mtbert {command}" in capsys.readouterr().out


def test_run_help_says_it_is_dvc_repro(capsys):
    assert cli.main(["run", "--help"]) == 0 and "dvc repro" in capsys.readouterr().out


def test_profile_prints_the_set_flags_of_a_profile(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text("train:\n  lr: 0.001\n  epochs: 2\n")
    assert cli.main(["profile", "p.yaml"]) == 0
    assert capsys.readouterr().out.split() == ["-S", "train.lr=0.001", "-S", "train.epochs=2"]
    with pytest.raises(SystemExit, match="nowhere.yaml: profile not found"):
        cli.main(["profile", "nowhere.yaml"])


def test_params_validates_a_file_and_names_the_bad_key(tmp_path, capsys):
    good = Path(__file__).resolve().parents[1] / "params.yaml"
    assert cli.main(["params", "--file", str(good)]) == 0 and "valid" in capsys.readouterr().out
    bad = tmp_path / "params.yaml"
    bad.write_text(good.read_text().replace("  lr: 1.0e-4", "  lr: fast", 1))
    with pytest.raises(SystemExit, match="train.*lr"):
        cli.main(["params", "--file", str(bad)])


def test_tools_come_from_this_environment_first(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # this interpreter's bin/ is not on PATH
    own_bin_first()
    assert os.environ["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="no-such-tool: not found beside .* nor on PATH"):
        tool("no-such-tool")
