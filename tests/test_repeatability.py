"""The same run twice, in separate processes with different PYTHONHASHSEED, logs the same metrics to the last bit."""

import json
import os
import subprocess
import sys

from conftest import ROOT

SCRIPT = r"""
import json, sys
from pathlib import Path
import torch
from test_training import PAIRS, SST
from mtbert.data.batching import tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import ModelConfig, MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.loop import TrainConfig, train
from mtbert.train.regularizers import SimCSEConfig

class Live:
    def __init__(self): self.logged, self.step = {}, 0
    def log_metric(self, name, value): self.logged[f"{self.step}/{name}"] = value
    def next_step(self): self.step += 1

directory, out = Path(sys.argv[1]), Path(sys.argv[2])
tok = Tokenizer.from_checkpoint(directory)
enc, _, _ = load_pretrained(directory)
for m in enc.modules():  # dropout on, so the seeded random stream matters
    if isinstance(m, torch.nn.Dropout):
        m.p = 0.2
tasks = ["sst", "quora", "sts"]
torch.manual_seed(0)
model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"sst": "linear", "quora": "siamese_concat", "sts": "cosine"}), tasks)
data = {"sst": tokenize(tok, SST, "sst", "single"), "quora": tokenize(tok, PAIRS.assign(label=[1.0, 0.0, 1.0, 0.0]), "quora", "siamese"),
        "sts": tokenize(tok, PAIRS, "sts", "siamese")}
cfg = TrainConfig(tasks=tasks, epochs=2, steps_per_epoch=3, batch_size=2, method="pcgrad", grad_diagnostics_every=1,
                  simcse=SimCSEConfig(weight=0.1))
live = Live()
train(model, data, data, cfg, out, live, tok.pad_id, {}, [])
print("METRICS" + json.dumps({k: v for k, v in live.logged.items() if not k.split("/", 1)[1].startswith("time/")}))
"""


def _run(tmp_path, hash_seed: str, tiny_checkpoint_dir) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT / "src")]))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_checkpoint_dir), str(tmp_path / f"out{hash_seed}")],
                         capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    line = next(line for line in out.stdout.splitlines() if line.startswith("METRICS"))
    return json.loads(line.removeprefix("METRICS"))


def test_a_tiny_fine_tune_repeats_exactly_across_processes_and_hash_seeds(tmp_path, tiny_checkpoint_dir):
    first, second = _run(tmp_path, "1", tiny_checkpoint_dir), _run(tmp_path, "2", tiny_checkpoint_dir)
    assert len(first) > 30 and {"0/train/sst_loss", "1/dev/overall", "0/grad/cos_sst_quora", "0/train/sst_simcse"} <= set(first)
    assert first == second  # every logged value, bit for bit
    weights = [(tmp_path / f"out{s}" / "model.safetensors").read_bytes() for s in ("1", "2")]
    assert weights[0] == weights[1]
