"""The results page's metrics table: one column per task metric and split, CFIMDB only when a run trained it."""

from mtbert.report.results import metrics_table

THREE = {"sst_acc": 0.5, "quora_acc": 0.75, "sts_pearson": 0.8, "overall": 0.7}


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip("|").split("|")]


def test_three_tasks_give_dev_and_test_columns_with_their_intervals():
    lines = metrics_table([("run", {"dev": THREE, "test": THREE, "ci95": {"dev": {"sst_acc": {"low": 0.45, "high": 0.55}}}})])
    assert cells(lines[0]) == ["run", "dev SST acc", "dev Quora acc", "dev STS r", "dev overall",
                               "test SST acc", "test Quora acc", "test STS r", "test overall"]
    assert cells(lines[2]) == ["run", "0.5000 [0.450, 0.550]", "0.7500", "0.8000", "0.7000",
                               "0.5000", "0.7500", "0.8000", "0.7000"]


def test_a_cfimdb_run_adds_its_column_and_other_rows_show_a_dash():
    single = {"cfimdb_acc": 0.9}
    lines = metrics_table([("cfimdb only", {"dev": single, "test": single}), ("reference", {"dev": THREE, "test": THREE})])
    assert cells(lines[0])[5] == "dev CFIMDB acc" and cells(lines[0])[10] == "test CFIMDB acc"
    assert cells(lines[2]) == ["cfimdb only", "–", "–", "–", "–", "0.9000", "–", "–", "–", "–", "0.9000"]
    assert cells(lines[3])[5] == "–" and len(lines[1].split("---")) == 12
