"""params.yaml validated whole when it loads: the mistakes a new user makes fail at once, naming key, value, choices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mtbert.config import ConfigError, read_params, section
from mtbert.params import load_params
from mtbert.params import DOCS, SECTIONS, render_docs

ROOT = Path(__file__).resolve().parents[1]


def params_with(tmp_path: Path, dotted: str, value) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    *parents, key = dotted.split(".")
    node = params
    for p in parents:
        node = node[p]
    node[key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_the_committed_params_are_valid():
    load_params(ROOT / "params.yaml")


@pytest.mark.parametrize("key, value, message", [
    ("train.method", "pcgard", r"train\.method: unknown gradient method 'pcgard'; choices: \[.*'pcgrad'.*\] \(got 'pcgard'\)"),
    ("train.schedule", "roundrobin", r"train\.schedule: unknown schedule 'roundrobin'; choices: \[.*'round_robin'.*\]"),
    ("train.lr", -1, r"train\.lr: Input should be greater than 0 \(got -1\)"),
    ("train.batch_size", 0, r"train\.batch_size: Input should be greater than or equal to 1 \(got 0\)"),
    ("model.pooling", "avg", r"model\.pooling: unknown pooling 'avg'; choices: \['cls', 'cls_raw', 'max', 'mean'\]"),
    ("model.heads", {"sst": "linaer"}, r"model\.heads\.sst: unknown head 'linaer'; choices: \[.*'linear'.*\]"),
    ("model.heads", {"quora": "cosine"}, r"model: heads\.quora: head 'cosine' is for \['sts'\], not quora"),
    ("train.tasks", ["sst", "qoura"], r"train\.tasks\.1: unknown task 'qoura'; choices: \['cfimdb', 'quora', 'sst', 'sts'\]"),
    ("train.sts_loss", "huber", r"train\.sts_loss: Input should be 'mse' or 'cosine_embedding' \(got 'huber'\)"),
    ("train.smrt", {"weight": 1}, r"train\.smrt: Unexpected keyword argument"),  # regularizers are sections: a typo is an unknown key
    ("train.simcse", {"weight": -0.1}, r"train\.simcse\.weight: Input should be greater than or equal to 0"),
    ("train.seed", -1, r"train\.seed: Input should be greater than or equal to 0"),
    ("train.warmup_ratio", 1.5, r"train\.warmup_ratio: Input should be less than or equal to 1"),
    ("model.head_dropout", 1.0, r"model\.head_dropout: Input should be less than 1"),
    ("data.prepare.quora_split", {"ratios": {"train": 0.8, "dev": 0.1, "test": 0.2}}, r"the shares must sum to 1, got 1\.1"),
    ("data.download.sources", ["cs224n", "glue"], r"data\.download\.sources\.1: unknown source 'glue'"),
    ("evaluate.splits", ["dev", "valid"], r"evaluate\.splits\.1: Input should be 'dev' or 'test'"),
    ("train.compile", "yes", r"train\.compile: Input should be a valid boolean \(got 'yes'\)"),
])
def test_a_bad_value_fails_when_params_load_naming_key_value_and_choices(tmp_path, key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_params(params_with(tmp_path, key, value))


def test_an_unknown_section_is_named(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text() + "\ntrian: {lr: 1}\n")
    with pytest.raises(ConfigError, match=r"unknown section\(s\) \['trian'\]"):
        load_params(path)


def test_a_stage_refuses_bad_params_before_touching_data(tmp_path):
    # the download stage reads none of train's keys, yet stops on train.method before fetching anything
    params_with(tmp_path, "train.method", "pcgard")
    done = subprocess.run([sys.executable, str(ROOT / "stages" / "download.py")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "train.method: unknown gradient method 'pcgard'" in done.stderr
    assert "Traceback" not in done.stderr  # the message alone
    assert not (tmp_path / "data").exists()


def test_the_params_reference_page_is_current():
    assert (ROOT / DOCS).read_text() == render_docs(), "regenerate it: mtbert params --docs"


@pytest.mark.parametrize("name", list(SECTIONS))
def test_every_config_class_defaults_to_exactly_params_yaml(name):
    """One set of defaults: a config built with no params is the committed params.yaml's."""
    cls = SECTIONS[name]
    assert cls() == section(read_params(ROOT / "params.yaml"), name, cls)
