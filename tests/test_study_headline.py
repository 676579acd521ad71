from mtbert.experiments.pages.headline import headline
from mtbert.experiments.study import Study

STUDY = Study(name="default", seeds=[0, 1], variants={"recipe": {}})
REFERENCE = {"no_finetuning": {"dev": {"sst_acc": 0.41, "quora_acc": 0.78, "sts_pearson": 0.83, "overall": 0.70},
                               "test": {"sst_acc": 0.42, "quora_acc": 0.77, "sts_pearson": 0.84, "overall": 0.71}},
             "majority": {"dev": {"sst_acc": 0.25, "quora_acc": 0.61}, "test": {"sst_acc": 0.23, "quora_acc": 0.64}}}


def _run(seed, dev, test):
    names = ("sst_acc", "quora_acc", "sts_pearson", "overall")
    return {"metrics": {"dev": dict(zip(names, dev)), "test": dict(zip(names, test))}, "commit": "abc", "seed": seed,
            "device": "CPU, 1 threads", "diagnostics": {}, "notes": []}


def test_the_headline_gives_each_split_over_seeds_beside_the_reference_rows():
    results = {"recipe@seed1": _run(1, (0.46, 0.82, 0.87, 0.74), (0.48, 0.81, 0.86, 0.75)),
               "recipe@seed0": _run(0, (0.48, 0.84, 0.87, 0.76), (0.50, 0.83, 0.88, 0.77))}
    text = headline(STUDY, results, REFERENCE).splitlines()
    # two seeds: mean ± t_{0.975,1} * s / sqrt(2) = ± 12.706205 * 0.01 = ± 0.127062 for a spread of 0.02
    assert text[2] == ("| **default recipe, 2 seeds** | dev | **0.4700** [0.3429, 0.5971] | **0.8300** [0.7029, 0.9571] "
                       "| **0.8700** [0.8700, 0.8700] | **0.7500** [0.6229, 0.8771] |")
    assert text[3].startswith("|  | test | **0.4900** [0.3629, 0.6171] |")
    assert text[4:8] == ["| no fine-tuning (`reference` stage) | dev | 0.4100 | 0.7800 | 0.8300 | 0.7000 |",
                         "|  | test | 0.4200 | 0.7700 | 0.8400 | 0.7100 |",
                         "| majority class | dev | 0.2500 | 0.6100 | – | – |",
                         "|  | test | 0.2300 | 0.6400 | – | – |"]
    assert text[-1] == "From `reports/studies/default.json`: 2 seeds (0, 1), commit `abc`, CPU, 1 threads."


def test_the_headline_reads_the_first_variant_only():
    results = {"recipe@seed0": _run(0, (0.5,) * 4, (0.5,) * 4), "other@seed0": _run(0, (0.9,) * 4, (0.9,) * 4)}
    study = Study(name="default", seeds=[0], variants={"recipe": {}, "other": {}})
    assert "| **0.5000** | **0.5000** |" in headline(study, results, None) and "0.9000" not in headline(study, results, None)
