"""`mtbert predict` and the Predictor API on a tiny trained-layout checkpoint: numbers equal the model's own heads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mtbert.config.model import ModelConfig
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel, save_multitask
from mtbert.predict import NotACheckpoint, Predictor
from mtbert.predict.__main__ import main
from mtbert.text.tokenizer import Tokenizer

TASKS = ["sst", "quora", "sts"]
HEADS = {"sst": "linear", "quora": "siamese_concat", "sts": "cosine"}


@pytest.fixture
def trained(tiny_checkpoint_dir, tmp_path) -> Path:
    """A checkpoint in the layout the finetune stage writes (random heads: the numbers only need to be the model's)."""
    torch.manual_seed(0)
    mcfg = ModelConfig(pooling="mean", heads=HEADS)
    model = MultitaskModel(load_pretrained(tiny_checkpoint_dir)[0], mcfg, TASKS)
    out = tmp_path / "finetuned"
    resolved = {"model": {"pooling": "mean", "max_length": 128, "heads": HEADS}, "train": {"tasks": TASKS}}
    save_multitask(model, out, resolved, [tiny_checkpoint_dir / "vocab.txt", tiny_checkpoint_dir / "tokenizer_config.json"])
    return out


def direct(checkpoint: Path, task: str, *texts: str) -> np.ndarray:
    """The head's output for one row, through the model's own forward on a batch of one."""
    p = Predictor.load(checkpoint)
    tok = Tokenizer.from_checkpoint(checkpoint)
    encs = [tok.encode([t])[0] for t in texts]
    width = max(len(e.input_ids) for e in encs)
    ids = torch.tensor([e.input_ids + [0] * (width - len(e.input_ids)) for e in encs])
    mask = torch.tensor([[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in encs])
    with torch.inference_mode():
        return p.model(task, {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}).numpy()


def test_sst_gives_the_softmax_of_the_head_and_its_argmax_in_input_order(trained):
    sentences = ["the film was very good .", "dull plot", "a great actor is not enough for this movie"]
    out = Predictor.load(trained).sst(sentences)
    probs = out[[f"p{k}" for k in range(5)]].to_numpy()
    assert out["sentence"].tolist() == sentences
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert (out["label"].to_numpy() == probs.argmax(1)).all()
    expected = torch.softmax(torch.from_numpy(direct(trained, "sst", sentences[1])), -1).numpy()[0]
    np.testing.assert_allclose(probs[1], expected, atol=1e-5)  # the row sorted into another batch still matches


def test_quora_probability_is_the_sigmoid_of_the_head_and_sts_the_clipped_similarity(trained):
    pair = ("how can i learn python ?", "what is the best way to learn python ?")
    p = Predictor.load(trained)
    quora, sts = p.quora([pair]), p.sts([pair, ("the film", "the film")])
    logit = direct(trained, "quora", *pair).reshape(-1)[0]
    assert quora["probability"][0] == pytest.approx(1 / (1 + np.exp(-logit)), abs=1e-5)
    assert quora["label"][0] == int(logit > 0)
    assert sts["similarity"][0] == pytest.approx(float(np.clip(direct(trained, "sts", *pair)[0], 0, 5)), abs=1e-4)
    assert sts["similarity"][1] == pytest.approx(5.0, abs=1e-4)  # identical sentences: cos 1 on the 2.5 (cos + 1) head


def test_the_command_reads_a_csv_and_arguments_and_writes_every_format(trained, tmp_path, capsys):
    src = tmp_path / "pairs.csv"
    pd.DataFrame({"id": ["a", "b"], "sentence1": ["the film", "how do i learn java"],
                  "sentence2": ["the movie", "why is java good"]}).to_csv(src, index=False)
    out = tmp_path / "scored.jsonl"
    assert main(["--task", "sts", "--input", str(src), "--output", str(out), "--checkpoint", str(trained)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and all(0 <= r["similarity"] <= 5 for r in rows)  # id passed through
    assert main(["--task", "sst", "--checkpoint", str(trained), "the film is fun", "it was awful"]) == 0
    printed = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert printed["sentence"].tolist() == ["the film is fun", "it was awful"] and set(printed["label"]) <= set(range(5))


@pytest.mark.parametrize("argv, message", [
    (["--task", "quora", "one sentence", "two", "three"], "give an even number of sentences"),
    (["--task", "sst"], "give sentences as arguments or --input FILE"),
    (["--task", "cfimdb", "a movie"], "this checkpoint has no 'cfimdb' head; it was trained on ['sst', 'quora', 'sts']"),
    (["--task", "sst", "--batch-size", "0", "x"], "--batch-size must be at least 1"),
])
def test_bad_requests_fail_with_a_message_and_exit_2(trained, capsys, argv, message):
    assert main(argv + ["--checkpoint", str(trained)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name, text, message", [
    ("in.csv", "sentence1,other\nthe film,x\n", "in.csv: sts reads the columns ['sentence1', 'sentence2']; missing ['sentence2']"),
    ("in.tsv", "sentence1\tsentence2\nthe film\tthe movie\n \tthe plot\n", "in.tsv, row 2: sentence1 must be non-empty text"),
    ("in.jsonl", '{"sentence1": "a", "sentence2": "b"}\n{"sentence1": "a",\n', "in.jsonl, line 2: not JSON"),
    ("in.jsonl", '["a", "b"]\n', "in.jsonl, line 1: a JSON object per line expected, got list"),
    ("in.txt", "the film\n", "in.txt: unknown format '.txt'"),
])
def test_malformed_files_are_refused_naming_file_and_row(trained, tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    assert main(["--task", "sts", "--input", str(path), "--checkpoint", str(trained)]) == 2
    assert message in capsys.readouterr().err


def test_undecodable_bytes_are_refused(trained, tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("sentence\ncaf\xe9 au lait\n".encode("latin-1"))
    assert main(["--task", "sst", "--input", str(path), "--checkpoint", str(trained)]) == 2
    assert "latin1.csv: not UTF-8 text" in capsys.readouterr().err


def test_a_directory_that_is_not_a_trained_checkpoint_is_refused(tiny_checkpoint_dir, tmp_path):
    with pytest.raises(NotACheckpoint, match=r"missing \['run.json'\]"):
        Predictor.load(tiny_checkpoint_dir)  # a pretrained encoder, no heads
    with pytest.raises(NotACheckpoint, match="no such directory"):
        Predictor.load(tmp_path / "nowhere")
    (tiny_checkpoint_dir / "run.json").write_text('{"model": {}}')
    with pytest.raises(NotACheckpoint, match="not a finetune run record"):
        Predictor.load(tiny_checkpoint_dir)


def test_the_mtbert_command_dispatches_to_predict(trained, capsys):
    from mtbert import cli

    assert cli.main(["predict", "--task", "sst", "--checkpoint", str(trained), "the film"]) == 0
    assert "sentence,label,p0" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train"])
    assert exit_.value.code == 2 and "invalid choice: 'train'" in capsys.readouterr().err
