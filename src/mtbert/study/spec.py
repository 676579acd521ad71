"""A study file: `name`, `budget` (params overrides every variant shares), `variants` (name -> overrides); optional
`seeds` (every variant runs once per seed), `dev_only` (a study that chooses: its page leaves test off), `notes`
(rendered at the end), `questions` (comparisons read as verdicts: a list of {label, a, b, metric}; `question_margin`
sets their equivalence margin) and `superseded` (what in the code has changed since the results were measured,
rendered at the top)."""

from __future__ import annotations

from pathlib import Path

import yaml

METRICS = ("sst_acc", "quora_acc", "sts_pearson", "overall")

# The params a run's seed drives: head initialisation, data order and dropout (train), augmentation, pretraining.
SEED_KEYS = ("train.seed", "augment.seed", "pretrain_mlm.seed")


def load_study(path: Path) -> dict:
    study = yaml.safe_load(Path(path).read_text())
    missing = [k for k in ("name", "budget", "variants") if k not in study]
    if missing:
        raise ValueError(f"{path}: study file lacks {missing}")
    seeds = study.get("seeds")
    if seeds is not None and (not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds)):
        raise ValueError(f"{path}: seeds must be a non-empty list of integers, got {seeds!r}")
    for i, q in enumerate(study.get("questions") or []):
        if not isinstance(q, dict) or q.get("a") not in study["variants"] or q.get("b") not in study["variants"] \
                or q.get("metric") not in METRICS:
            raise ValueError(f"{path}: questions[{i}] must name two of the variants {list(study['variants'])} as a and "
                             f"b and a metric of {list(METRICS)}, got {q!r}")
    return study


def result_key(variant: str, seed: int | None) -> str:
    """Where a run's result is kept in reports/studies/<name>.json (single-seed studies: the variant name)."""
    return variant if seed is None else f"{variant}@seed{seed}"


def split_key(key: str) -> tuple[str, int]:
    """(variant, seed) of a seeded result key: result_key's inverse."""
    variant, seed = key.rsplit("@seed", 1)
    return variant, int(seed)


def runs(study: dict) -> list[tuple[str, int | None]]:
    """(variant, seed) pairs in run order: seed by seed, so a cut-short study has every variant on its first seeds."""
    seeds = study.get("seeds") or [None]
    return [(variant, seed) for seed in seeds for variant in study["variants"]]


def seed_overrides(seed: int | None) -> dict[str, int]:
    return {} if seed is None else {key: seed for key in SEED_KEYS}
