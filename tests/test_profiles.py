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
    changes no table result (open maps, empty in params.yaml, are filled per study with ++ keys)."""
    import yaml
    from conftest import ROOT

    from mtbert.profiles import flatten

    params = flatten(yaml.safe_load((ROOT / "params.yaml").read_text()))
    for name in ("cpu", "gpu"):
        profile = flatten(yaml.safe_load((ROOT / "profiles" / "tables" / f"{name}.yaml").read_text()))
        assert set(params) <= set(profile), (name, sorted(set(params) - set(profile)))
        assert set(profile) <= set(params), (name, sorted(set(profile) - set(params)))
