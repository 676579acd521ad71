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

directory, out, method, regularizer = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
ranks = distributed.setup("gloo")
tok = Tokenizer.from_checkpoint(directory)
enc = load_pretrained(directory)[0]  # the tiny checkpoint has no dropout; heads get none either: ranks see other masks
tasks = ["sst", "quora", "sts"]  # PCGrad's random order comes from the step's seed: the same on every rank
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
from mtbert.train.regularizers import SimCSEConfig, SmartConfig
extra = {"simcse": {"simcse": SimCSEConfig(weight=1.0, negatives="both_views")},
         # per-row noise and a per-row ascent direction: the same on one process as on two ranks
         "smart": {"smart": SmartConfig(weight=1.0, sigma=1e-2, ascent_steps=1, step_size=1e-2, epsilon=None)},
         "smart_mtdnn": {"smart": SmartConfig(weight=1.0, sigma=1e-2, ascent_steps=1, step="mtdnn")}}.get(regularizer, {})
cfg = TrainConfig(tasks=tasks, epochs=1, steps_per_epoch=4, batch_size=6, method=method, grad_diagnostics_every=0,
                  lr=1e-4, head_lr=1e-3, warmup_ratio=0.0, **extra)
mine = out / f"rank{ranks.rank}"  # every rank is handed somewhere to write: only rank 0 may use it
train(model, data, data, cfg, mine / "model", FileLive(mine / "live.txt"), tok.pad_id, {}, [], ranks)
torch.save(model.state_dict(), out / f"params-{ranks.world}-{ranks.rank}.pt")
distributed.teardown(ranks)
"""


# SimCSE's negatives are gathered from every rank, with their gradient: two ranks give one process's loss; SMART's
# noise is drawn per row of the whole batch, and its ascent direction per row
@pytest.mark.parametrize("method,regularizer", [("sum", "none"), ("pcgrad", "none"), ("sum", "simcse"),
                                                ("pcgrad", "simcse"), ("sum", "smart"), ("sum", "smart_mtdnn")])
def test_two_gloo_ranks_reach_the_parameters_of_one_process_on_the_whole_batches(tiny_checkpoint_dir, tmp_path, method,
                                                                                 regularizer):
    script = tmp_path / "worker.py"
    script.write_text(SCRIPT)
    env = {"PYTHONPATH": f"{ROOT / 'tests'}:{ROOT / 'src'}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    one, two = tmp_path / "one", tmp_path / "two"
    for out, launcher in ((one, []), (two, ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"])):
        out.mkdir()
        run = subprocess.run([sys.executable, *launcher, str(script), str(tiny_checkpoint_dir), str(out), method,
                              regularizer],
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


NO_CPU_BACKEND = r"""
import sys
from pathlib import Path
import numpy as np, pandas as pd, torch
import torch.distributed as dist
from mtbert.data.batching import collate, tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import ModelConfig, MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.methods.backward import GradientBuffers, backward
from mtbert.train.distributed import Ranks
from mtbert.train.loop import TrainConfig, task_losses
from mtbert.train.regularizers import SimCSEConfig
from mtbert.train.methods.combine import GradientMethod, MethodContext

# As under NCCL, the default group has no CPU backend ("cuda:gloo"): any collective on a CPU tensor that does not go
# through the data group fails. The data group (gloo) stands in for NCCL on the GPU tensors a real run reduces.
directory, out = Path(sys.argv[1]), Path(sys.argv[2])
dist.init_process_group("cuda:gloo")
ranks = Ranks(dist.get_rank(), dist.get_world_size(), 0, group=dist.new_group(backend="gloo"))
tok = Tokenizer.from_checkpoint(directory)
tasks = ["sst", "quora", "sts"]
model = MultitaskModel(load_pretrained(directory)[0], ModelConfig(pooling="mean"), tasks)
words = "good bad great awful film plot actor fun dull the very not".split()
rng = np.random.default_rng(0)
sentence = lambda: " ".join(rng.choice(words, size=rng.integers(2, 7)))
sst = pd.DataFrame({"id": range(6), "sentence": [sentence() for _ in range(6)], "label": rng.integers(0, 5, 6)})
pairs = pd.DataFrame({"id": range(6), "sentence1": [sentence() for _ in range(6)],
                      "sentence2": [sentence() for _ in range(6)], "label": rng.integers(0, 2, 6).astype(float)})
data = {"sst": tokenize(tok, sst, "sst", "single"), "quora": tokenize(tok, pairs, "quora", "siamese"),
        "sts": tokenize(tok, pairs, "sts", "siamese")}
shard = ranks.shard(np.arange(6))
batches = {t: collate(data[t], shard, tok.pad_id) for t in tasks}
cfg = TrainConfig(tasks=tasks, simcse=SimCSEConfig(weight=1.0, negatives="both_views"))
with model.sparse_row_gradients():
    losses = {t: r[0] for t, r in task_losses(model, batches, torch.device("cpu"), cfg, {t: 1.0 for t in tasks}, 3,
                                              ranks).items()}
backward(model, losses, GradientMethod.build("pcgrad", MethodContext(tasks=tasks)), jacobian=True,
         buffers=GradientBuffers(), ranks=ranks, draw_seed=11)
torch.save({n: p.grad for n, p in model.named_parameters() if p.grad is not None}, out / f"grads-{ranks.rank}.pt")
dist.destroy_process_group()
"""


def test_a_gradient_method_step_makes_no_collective_on_cpu_tensors_outside_the_data_group(tiny_checkpoint_dir, tmp_path):
    """The J step of a three-task PCGrad with SimCSE on, in a default group without a CPU backend (as NCCL's): the
    ranks' random draws agree without any collective, and every reduction goes through the data group."""
    script = tmp_path / "no_cpu_backend.py"
    script.write_text(NO_CPU_BACKEND)
    env = {"PYTHONPATH": f"{ROOT / 'src'}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(script), str(tiny_checkpoint_dir), str(tmp_path)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    rank0, rank1 = torch.load(tmp_path / "grads-0.pt"), torch.load(tmp_path / "grads-1.pt")
    assert rank0.keys() == rank1.keys() and any(k.startswith("bert.") for k in rank0)
    for k in rank0:
        torch.testing.assert_close(rank0[k], rank1[k], rtol=0, atol=1e-6)  # one combined direction on both ranks


def test_nccl_runs_beside_gloo_for_cpu_tensors(monkeypatch):
    from mtbert.train import distributed

    chosen = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda backend: chosen.append(backend))
    monkeypatch.setattr(distributed.torch.cuda, "set_device", lambda device: None)
    distributed.setup("nccl")
    distributed.setup("gloo")
    assert chosen == ["cpu:gloo,cuda:nccl", "gloo"]


def load_encoder_state(directory):
    from mtbert.model.checkpoint import load_pretrained

    return load_pretrained(directory)[0].state_dict()
