import numpy as np
import pandas as pd
import pytest

from mtbert.data.splits import grouped_split, pair_groups, question_key


def _questions(n_pairs: int, seed: int = 0) -> tuple[pd.Series, pd.Series]:
    """Pairs over a small question pool, so many questions recur and chain pairs into groups."""
    rng = np.random.default_rng(seed)
    pool = [f"Question number {k}?" for k in range(int(n_pairs * 1.2))]
    a = rng.integers(0, len(pool), n_pairs)
    b = rng.integers(0, len(pool), n_pairs)
    # vary case and spacing: the same question written differently must still be grouped
    s1 = [pool[i].upper() if k % 7 == 0 else pool[i] for k, i in enumerate(a)]
    s2 = [pool[i].replace(" ", "  ") for i in b]
    return pd.Series(s1), pd.Series(s2)


RATIOS = {"train": 0.8, "dev": 0.1, "test": 0.1}


def test_no_question_text_is_on_two_sides():
    s1, s2 = _questions(3000)
    split = grouped_split(s1, s2, RATIOS, seed=0)
    sides: dict[str, set[str]] = {}
    for q1, q2, name in zip(s1, s2, split):
        for q in (q1, q2):
            sides.setdefault(question_key(q), set()).add(name)
    assert max(len(v) for v in sides.values()) == 1


def test_split_is_deterministic_and_depends_on_the_seed():
    s1, s2 = _questions(2000)
    first = grouped_split(s1, s2, RATIOS, seed=3)
    assert first.equals(grouped_split(s1, s2, RATIOS, seed=3))
    assert not first.equals(grouped_split(s1, s2, RATIOS, seed=4))


def test_ratios_are_met_to_within_the_largest_group():
    s1 = pd.Series([f"q{k}" for k in range(5000)])
    s2 = pd.Series([f"r{k}" for k in range(5000)])  # every pair its own group
    counts = grouped_split(s1, s2, {"train": 0.7, "dev": 0.2, "test": 0.1}, seed=0).value_counts()
    assert counts.to_dict() == {"train": 3500, "dev": 1000, "test": 500}


def test_groups_are_transitive():
    ids = pair_groups(pd.Series(["a", "b", "x"]), pd.Series(["b", "c", "y"]))
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize("ratios", [{}, {"train": -1.0, "dev": 2.0}, {"train": 0.0}])
def test_bad_ratios_are_refused(ratios):
    with pytest.raises(ValueError, match="split ratios"):
        grouped_split(pd.Series(["a"]), pd.Series(["b"]), ratios, seed=0)
