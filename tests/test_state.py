"""The resumable-state store: exact round trips without pickle, fingerprints, and the resume-or-start-fresh decision."""

from __future__ import annotations

import random

import numpy as np
import torch

from mtbert.train.state import StateStore, fingerprint, pack, rng_state, set_rng_state, unpack


def test_pack_and_unpack_round_trip_nested_state_exactly():
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.randn(3, 2))], lr=1e-3)
    opt.param_groups[0]["params"][0].grad = torch.randn(3, 2)
    opt.step()
    state = {"optim": opt.state_dict(), "order": np.arange(5), (1, "x"): [1.5, None, "s", True], 7: {"t": (1, 2)}}
    tensors: dict = {}
    data = pack(state, tensors)
    back = unpack(data, tensors)
    assert back[7] == {"t": (1, 2)} and back[(1, "x")] == [1.5, None, "s", True]
    np.testing.assert_array_equal(back["order"], np.arange(5))
    assert torch.equal(back["optim"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert back["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples


def test_the_fingerprint_follows_params_and_file_bytes(tmp_path):
    code = tmp_path / "code.py"
    code.write_text("a = 1\n")
    base = fingerprint("finetune", {"train": {"lr": 1e-4}}, [code])
    assert fingerprint("finetune", {"train": {"lr": 1e-4}}, [code]) == base
    assert fingerprint("finetune", {"train": {"lr": 2e-4}}, [code]) != base
    code.write_text("a = 2\n")
    assert fingerprint("finetune", {"train": {"lr": 1e-4}}, [code]) != base


def test_a_state_resumes_only_under_its_own_fingerprint_and_rngs_restore(tmp_path):
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    saved = rng_state()
    expected = (torch.rand(2), np.random.rand(), random.random())
    store = StateStore(tmp_path / "state", "abc")
    assert store.load() == (None, "no saved state: starting fresh")
    store.save({"rng": saved, "step": 4})
    state, said = StateStore(tmp_path / "state", "abc").load()
    assert said.startswith("resuming from") and state["step"] == 4
    set_rng_state(state["rng"])
    assert torch.equal(torch.rand(2), expected[0]) and (np.random.rand(), random.random()) == expected[1:]
    other, said = StateStore(tmp_path / "state", "xyz").load()
    assert other is None and "written by other code or params (abc != xyz): starting fresh" in said
    store.clear()
    assert not (tmp_path / "state").exists()


def test_a_state_moved_aside_by_a_killed_save_is_still_resumed(tmp_path):
    store = StateStore(tmp_path / "state", "abc")
    store.save({"step": 4})
    (tmp_path / "state").rename(tmp_path / ".state.previous")  # killed between atomic_dir's two renames
    state, said = store.load()
    assert state == {"step": 4} and said.startswith("resuming from")
