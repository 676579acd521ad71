from mtbert.profiles import set_flags


def test_profile_becomes_one_set_flag_per_leaf(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("model:\n  checkpoint: google-bert/bert-base-uncased\ntrain:\n  epoch: one_pass\n  lr: 2.0e-5\n  tasks: [sst, sts]\n")
    assert set_flags(path) == ["-S", "model.checkpoint=google-bert/bert-base-uncased", "-S", "train.epoch=one_pass",
                               "-S", "train.lr=2.0e-05", "-S", "train.tasks=[sst, sts]"]


def test_the_shipped_full_profile_only_names_existing_params():
    import yaml
    from conftest import ROOT

    from mtbert.profiles import flatten

    params = flatten(yaml.safe_load((ROOT / "params.yaml").read_text()))
    profile = flatten(yaml.safe_load((ROOT / "profiles" / "full.yaml").read_text()))
    assert set(profile) <= set(params), set(profile) - set(params)


def test_keys_under_an_open_map_of_params_are_added_with_plus_plus(tmp_path):
    from mtbert.profiles import open_maps, override_flags

    (tmp_path / "params.yaml").write_text("train:\n  lr: 0.1\n  task_lr: {}\n")
    maps = open_maps(tmp_path / "params.yaml")
    assert maps == {"train.task_lr"}
    assert override_flags({"train": {"lr": 0.2, "task_lr": {"sst": 1.0e-3}}}, maps) == \
        ["-S", "train.lr=0.2", "-S", "++train.task_lr.sst=0.001"]


def test_every_table_profile_pins_every_param_of_params_yaml():
    """A table run reads nothing from params.yaml that its profile does not set: tuning the default recipe later
    changes no table result (a map the profile sets, empty or not, replaces params.yaml's)."""
    import yaml
    from conftest import ROOT

    from mtbert.profiles import flatten

    params = flatten(yaml.safe_load((ROOT / "params.yaml").read_text()), keep_empty=True)
    for name in ("cpu", "gpu"):
        profile = flatten(yaml.safe_load((ROOT / "profiles" / "tables" / f"{name}.yaml").read_text()), keep_empty=True)
        maps = {k for k, v in profile.items() if v == {}}
        loose = {k for k in params if k not in profile and not any(k.startswith(m + ".") for m in maps)}
        assert not loose, (name, sorted(loose))
        unknown = {k for k in profile if k not in params and not any(p.startswith(k + ".") for p in params)}
        assert not unknown, (name, sorted(unknown))


def test_a_map_pinned_empty_replaces_what_params_yaml_puts_in_it():
    """The leak this guards: params.yaml's {sst: 2.0} merged into a table run whose profile says {}."""
    from mtbert.experiments.provenance import budget_id
    from mtbert.experiments.workspace import run_params

    params = {"train": {"lr": 0.1, "tasks": ["sst", "quora"], "loss_weights": {"sst": 2.0}}}
    pinned = {"train.lr": 0.2, "train.loss_weights": {}}
    assert run_params(params, pinned)["train"] == {"lr": 0.2, "tasks": ["sst", "quora"], "loss_weights": {}}
    # a later key fills the map the profile emptied; an earlier one is cleared by it
    assert run_params(params, pinned | {"train.loss_weights.quora": 3.0})["train"]["loss_weights"] == {"quora": 3.0}
    assert run_params(params, {"train.loss_weights.quora": 3.0, "train.loss_weights": {}})["train"]["loss_weights"] == {}
    # without a pin, params.yaml's map stays and a key is added to it
    assert run_params(params, {"train.loss_weights.quora": 3.0})["train"]["loss_weights"] == {"sst": 2.0, "quora": 3.0}
    # the params id counts an empty map as unset (records made before maps were pinned keep their ids) ...
    assert budget_id(pinned) == budget_id({"train.lr": 0.2})
    # ... and names what the overrides set once applied: a key cleared later is not part of it
    assert budget_id({"train.loss_weights.sst": 2.0, "train.loss_weights": {}, "train.lr": 0.2}) == budget_id(pinned)
    assert budget_id({"train.loss_weights.sst": 2.0, "train.lr": 0.2}) != budget_id(pinned)


def test_a_study_variant_can_empty_a_map_that_params_yaml_fills(tmp_path):
    from mtbert.experiments.study import Study
    from mtbert.experiments.workspace import run_params

    params = {"train": {"tasks": ["sst", "quora"], "loss_weights": {"sst": 2.0}, "seed": 0}}
    study = Study.model_validate({"name": "s", "description": "d", "seeds": [0], "variants": {
        "shared": {}, "quora_only": {"params": {"train": {"tasks": ["quora"], "loss_weights": {}}}}}})
    alone = run_params(params, study.overrides(None, "quora_only", 0, params))["train"]
    assert alone["loss_weights"] == {} and alone["tasks"] == ["quora"]
    assert run_params(params, study.overrides(None, "shared", 0, params))["train"]["loss_weights"] == {"sst": 2.0}


def test_dvc_flags_clear_a_filled_map_then_add_under_it(tmp_path):
    """The same pin through `dvc exp run -S`: DVC merges a mapping into a mapping, so clearing takes `~key` first."""
    import yaml
    from dvc.utils.hydra import apply_overrides

    from mtbert.profiles import override_flags

    params = tmp_path / "params.yaml"
    params.write_text("train:\n  lr: 0.1\n  loss_weights: {sst: 2.0}\n  task_lr: {}\n")
    flags = override_flags({"train": {"lr": 0.2, "loss_weights": {}, "task_lr": {}}}, params=params)
    assert flags == ["-S", "train.lr=0.2", "-S", "~train.loss_weights", "-S", "++train.loss_weights={}"]
    filled = override_flags({"train": {"loss_weights": {}}, "train.loss_weights.quora": 3.0}, params=params)
    assert filled[-2:] == ["-S", "++train.loss_weights.quora=3.0"]
    apply_overrides(params, filled[1::2])
    assert yaml.safe_load(params.read_text())["train"]["loss_weights"] == {"quora": 3.0}
