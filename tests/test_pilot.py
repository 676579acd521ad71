"""The pilot: one run of each kind of arm, and its projection of the whole profile's wall time."""

import json

from mtbert.experiments import pilot
from mtbert.experiments.provenance import budget_id
from mtbert.experiments.study import Run, Study, profile_base

TABLE = {"report": "r", "table": "t", "seeds": [0, 1], "profiles": {"p": {}}}


def _study(name, variants):
    return Study.model_validate(TABLE | {"name": name, "variants": variants})


def test_kinds_group_runs_by_what_they_cost_and_count_a_shared_run_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "profiles" / "tables").mkdir(parents=True)
    (tmp_path / "profiles" / "tables" / "p.yaml").write_text("train: {mode: full, epochs: 4, lr: 1.0e-4}\n")
    one = _study("one", {"a": {"row": "A"}, "slow_lr": {"row": "B", "params": {"train": {"lr": 1.0e-5}}},
                         "smart": {"row": "C", "params": {"train": {"smart": {"weight": 1.0}}}},
                         "frozen": {"row": "D", "params": {"train": {"mode": "frozen"}}}})
    two = _study("two", {"same_as_a": {"row": "A"}, "longer": {"row": "E", "params": {"train": {"epochs": 8}}}})
    groups = pilot.kinds({"one": one, "two": two}, "p")
    # lr does not change the cost: a and slow_lr are one kind; two's same_as_a is one's a, counted once
    assert [[r.name for r in g.runs] for g in groups] == [
        ["one-a-seed0", "one-slow-lr-seed0", "one-a-seed1", "one-slow-lr-seed1"],
        ["one-smart-seed0", "one-smart-seed1"], ["one-frozen-seed0", "one-frozen-seed1"],
        ["two-longer-seed0", "two-longer-seed1"]]
    assert [g.pilot.name for g in groups] == ["one-a-seed0", "one-smart-seed0", "one-frozen-seed0", "two-longer-seed0"]

    (tmp_path / "reports" / "tables" / "results").mkdir(parents=True)
    rows, total = pilot.projection(groups, "c1", workers=2)
    assert total is None and rows[0]["seconds"] is None  # nothing has run yet
    stores = {"one": {}, "two": {}}
    times = {"one-a-seed0": (600.0, {"epoch": 2, "cap": 4, "by": "plateau"}), "one-smart-seed0": (1200.0, None),
             "one-frozen-seed0": (60.0, None), "two-longer-seed0": (900.0, {"epoch": 8, "cap": 8, "by": "cap"})}
    for g in groups:
        r = g.pilot
        seconds, stopped = times[r.name]
        stores[r.study.name][r.key] = {"code": "c1", "budget": budget_id(r.overrides), "wall_seconds": seconds,
                                       "stopped": stopped}
    for name, records in stores.items():
        (tmp_path / "reports" / "tables" / "results" / f"{name}.p.json").write_text(json.dumps(records))
    rows, total = pilot.projection(groups, "c1", workers=2)
    assert [r["hours"] for r in rows] == [600 * 4 / 3600, 1200 * 2 / 3600, 60 * 2 / 3600, 900 * 2 / 3600]
    assert rows[0]["cap_hours"] == 1200 * 4 / 3600  # stopped at epoch 2 of 4: twice as long at the cap
    assert total == (sum(r["hours"] for r in rows) / 2, sum(r["cap_hours"] for r in rows) / 2)
    page = pilot.render(rows, total, "p", 2)
    assert "| one-a-seed0 | 4 | 10.0 | epoch 2 of 4, by plateau | 0.67 | 1.33 |" in page
    assert f"**Projected: {total[1]:.1f} h wall if every run trained to its cap**, {total[0]:.1f} h as the pilots stopped, at 2 runs at once" in page
    assert pilot.projection(groups, "c2", workers=2)[1] is None  # records of other code are no pilot of this code
    assert [r["wall_seconds"] for r in pilot.pilot_records(groups, "c1")] == [600.0, 1200.0, 60.0, 900.0]
    # what is left: every run but the pilots, at their kinds' pilot times; none of them replaces an older record
    assert pilot.remaining(groups, "c1", workers=2) == {"runs": 6, "older": 0, "workers": 2,
                                                        "hours": (600 * 3 + 1200 + 60 + 900) / 2 / 3600}
    assert pilot.remaining(groups, "c2", workers=2) == {"runs": 10, "older": 4, "hours": None, "workers": 2}
    # a second run of one-a's kind took 1200 s: the kind's 2 runs left count at the mean of its runs so far, 900 s
    second = next(r for r in groups[0].runs if r is not groups[0].pilot)
    name = second.study.name
    stores[name][second.key] = {"code": "c1", "budget": budget_id(second.overrides), "wall_seconds": 1200.0}
    (tmp_path / "reports" / "tables" / "results" / f"{name}.p.json").write_text(json.dumps(stores[name]))
    assert pilot.remaining(groups, "c1", workers=2)["hours"] == (900 * 2 + 1200 + 60 + 900) / 2 / 3600
    # each pending run weighted by its kind's pilot (two's same_as_a is one's a: a's time; no pilot at c2: none)
    todo = [r for study in (one, two) for v, s in study.runs()
            if (r := Run(study, "p", v, s, study.overrides("p", v, s, profile_base("p")))).seed == 1]
    assert [r.expected for r in pilot.with_expected(todo, groups, "c1")] == [600.0, 600.0, 1200.0, 60.0, 600.0, 900.0]
    assert {r.expected for r in pilot.with_expected(todo, groups, "c2")} == {None}
