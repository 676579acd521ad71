import runpy

import pandas as pd
import torch
import yaml
from conftest import ROOT, write_tiny_checkpoint
from safetensors.torch import load_file

SST = ["good film", "bad film", "great fun", "awful plot", "very good", "very bad", "great actor", "dull plot"]


def _prepared(root):
    for split in ("train", "dev"):
        d = root / "data" / "prepared"
        (d / "sst").mkdir(parents=True, exist_ok=True)
        (d / "sts").mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"id": [f"s{i}" for i in range(8)], "orig_index": range(8), "sentence": SST,
                      "label": [4, 0, 4, 0, 3, 1, 4, 0], "split": split, "split_source": "test"}).to_csv(d / "sst" / f"{split}.csv", index=False)
        pd.DataFrame({"id": [f"p{i}" for i in range(4)], "orig_index": range(4), "sentence1": SST[:4], "sentence2": SST[4:],
                      "label": [3.0, 1.0, 4.0, 0.5], "split": split, "split_source": "test"}).to_csv(d / "sts" / f"{split}.csv", index=False)


def _run_stage(root, monkeypatch, enabled):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"].update(checkpoint="tiny/bert", pooling="mean")
    params["pretrain_heads"].update(enabled=enabled, epochs=2, steps_per_epoch=3, batch_size=4, lr=1e-2)
    params["train"].update(tasks=["sst", "sts"])
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    runpy.run_path(str(ROOT / "stages" / "pretrain_heads.py"), run_name="__main__")


def test_pretrain_heads_trains_heads_and_leaves_the_encoder_bit_identical(tmp_path, monkeypatch):
    ckpt = write_tiny_checkpoint(tmp_path / "data" / "raw" / "models" / "tiny" / "bert")
    _prepared(tmp_path)
    _run_stage(tmp_path, monkeypatch, enabled=True)
    original = load_file(str(ckpt / "model.safetensors"))
    saved = load_file(str(tmp_path / "models" / "heads" / "model.safetensors"))
    encoder = {k: v for k, v in saved.items() if k.startswith("bert.")}
    assert set(encoder) == set(original)
    assert all(torch.equal(encoder[k], original[k]) for k in original)
    assert "heads.sst.out.weight" in saved

    from mtbert.model.checkpoint import load_pretrained
    from mtbert.model.multitask import ModelConfig, MultitaskModel
    from mtbert.train.setup import load_heads

    torch.manual_seed(123)
    model = MultitaskModel(load_pretrained(ckpt)[0], ModelConfig(pooling="mean"), ["sst", "sts"])
    assert not torch.equal(model.heads["sst"].out.weight, saved["heads.sst.out.weight"])
    assert load_heads(model, tmp_path / "models" / "heads") == ["sst", "sts"]
    assert torch.equal(model.heads["sst"].out.weight, saved["heads.sst.out.weight"])


def test_disabled_pretrain_heads_only_writes_a_marker(tmp_path, monkeypatch):
    _run_stage(tmp_path, monkeypatch, enabled=False)
    assert [p.name for p in (tmp_path / "models" / "heads").iterdir()] == ["DISABLED.json"]
