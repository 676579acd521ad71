"""Data parallelism: two gloo ranks under torchrun train to the parameters one process reaches on the union of their
batches, for the summed backward (DDP) and for a gradient method (task gradients reduced before combining)."""

import subprocess
import sys

import pytest
import torch
from conftest import ROOT

SCRIPT = r"""
import sys
from pathlib import Path
import numpy as np, pandas as pd, torch
from mtbert.data.batching import tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import ModelConfig, MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train import distributed
from mtbert.train.loop import TrainConfig, train

class FileLive:
    def __init__(self, path): self.path = path
    def log_metric(self, name, value):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f: f.write(f"{name} {value}\n")
    def next_step(self): pass

directory, out, method = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
ranks = distributed.setup("gloo")
tok = Tokenizer.from_checkpoint(directory)
enc = load_pretrained(directory)[0]  # the tiny checkpoint has no dropout; heads get none either: ranks see other masks
tasks = ["sst", "quora", "sts"] if method == "sum" else ["sst", "quora"]  # two-task PCGrad has no random order
torch.manual_seed(0)
model = MultitaskModel(enc, ModelConfig(pooling="mean", head_dropout=0.0,
                                        heads={"sst": "linear", "quora": "siamese_concat", "sts": "cosine_sbert"}), tasks)
words = "good bad great awful film plot actor fun dull the very not".split()
rng = np.random.default_rng(0)
sentence = lambda: " ".join(rng.choice(words, size=rng.integers(2, 7)))
n = 24
sst = pd.DataFrame({"id": range(n), "sentence": [sentence() for _ in range(n)], "label": rng.integers(0, 5, n)})
pairs = pd.DataFrame({"id": range(n), "sentence1": [sentence() for _ in range(n)], "sentence2": [sentence() for _ in range(n)],
                      "label": rng.integers(0, 2, n).astype(float)})
data = {"sst": tokenize(tok, sst, "sst", "single"), "quora": tokenize(tok, pairs, "quora", "siamese"),
        "sts": tokenize(tok, pairs.assign(label=rng.uniform(0, 5, n)), "sts", "siamese")}
data = {t: data[t] for t in tasks}
cfg = TrainConfig(tasks=tasks, epochs=1, steps_per_epoch=4, batch_size=6, method=method, grad_diagnostics_every=0,
                  lr=1e-4, head_lr=1e-3, warmup_ratio=0.0)
mine = out / f"rank{ranks.rank}"  # every rank is handed somewhere to write: only rank 0 may use it
train(model, data, data, cfg, mine / "model", FileLive(mine / "live.txt"), tok.pad_id, {}, [], ranks)
torch.save(model.state_dict(), out / f"params-{ranks.world}-{ranks.rank}.pt")
distributed.teardown(ranks)
"""


@pytest.mark.parametrize("method", ["sum", "pcgrad"])
def test_two_gloo_ranks_reach_the_parameters_of_one_process_on_the_whole_batches(tiny_checkpoint_dir, tmp_path, method):
    script = tmp_path / "worker.py"
    script.write_text(SCRIPT)
    env = {"PYTHONPATH": f"{ROOT / 'tests'}:{ROOT / 'src'}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    one, two = tmp_path / "one", tmp_path / "two"
    for out, launcher in ((one, []), (two, ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"])):
        out.mkdir()
        run = subprocess.run([sys.executable, *launcher, str(script), str(tiny_checkpoint_dir), str(out), method],
                             capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        assert run.returncode == 0, run.stderr[:4000]
    single = torch.load(one / "params-1-0.pt")
    rank0, rank1 = torch.load(two / "params-2-0.pt"), torch.load(two / "params-2-1.pt")
    before = load_encoder_state(tiny_checkpoint_dir)
    assert any(not torch.equal(single[f"bert.{k}"], v) for k, v in before.items())  # training moved the encoder
    for k in single:
        torch.testing.assert_close(rank0[k], rank1[k], rtol=0, atol=1e-6)  # the ranks applied the same updates
        torch.testing.assert_close(rank0[k], single[k], rtol=0, atol=1e-5)
    assert (two / "rank0" / "model" / "model.safetensors").exists() and (two / "rank0" / "live.txt").exists()
    assert not (two / "rank1").exists()  # rank 1 wrote neither a checkpoint nor logs


PRETRAIN = r"""
import sys
from pathlib import Path
import numpy as np, torch
from mtbert.model.checkpoint import load_pretrained
from mtbert.pretrain.loop import Examples, Masker, PretrainConfig, pretrain
from mtbert.text.tokenizer import Tokenizer
from mtbert.train import distributed

directory, out = Path(sys.argv[1]), Path(sys.argv[2])
ranks = distributed.setup("gloo")
tok = Tokenizer.from_checkpoint(directory)
torch.manual_seed(0)
encoder, heads, _ = load_pretrained(directory, with_heads=True)
words = "good bad great awful film plot actor fun dull the very not".split()
rng = np.random.default_rng(0)
sentence = lambda: " ".join(rng.choice(words, size=rng.integers(3, 9)))
a, b = [sentence() for _ in range(30)], [sentence() for _ in range(30)]
examples = Examples(tok.encode(a, b), rng.integers(0, 2, 30))
cfg = PretrainConfig(enabled=True, epochs=1, steps_per_epoch=3, batch_size=8, lr=1e-4, warmup_ratio=0.0)
pretrain(encoder, heads, examples, examples, Masker(tok, 0.3), cfg, ranks.device(), distributed.NoLive(), ranks)
torch.save(encoder.state_dict(), out / f"params-{ranks.world}-{ranks.rank}.pt")
distributed.teardown(ranks)
"""


def test_two_gloo_ranks_pretrain_to_the_parameters_of_one_process(tiny_checkpoint_dir, tmp_path):
    script = tmp_path / "pretrain_worker.py"
    script.write_text(PRETRAIN)
    env = {"PYTHONPATH": f"{ROOT / 'src'}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    for launcher in ([], ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]):
        run = subprocess.run([sys.executable, *launcher, str(script), str(tiny_checkpoint_dir), str(tmp_path)],
                             capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        assert run.returncode == 0, run.stderr[:4000]
    single, rank0 = torch.load(tmp_path / "params-1-0.pt"), torch.load(tmp_path / "params-2-0.pt")
    before = load_encoder_state(tiny_checkpoint_dir)
    assert any(not torch.equal(single[k], before[k]) for k in single)  # training moved the weights
    for k in single:
        torch.testing.assert_close(rank0[k], single[k], rtol=0, atol=1e-5)


def load_encoder_state(directory):
    from mtbert.model.checkpoint import load_pretrained

    return load_pretrained(directory)[0].state_dict()
