"""The dev-error section of reports/results.md on hand-made predictions: rankings, figures, placeholders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtbert.report import errors


def _files(tmp_path):
    pred, prep = tmp_path / "predictions", tmp_path / "prepared"
    pred.mkdir()
    (prep / "sst").mkdir(parents=True)
    (prep / "quora").mkdir(parents=True)
    probs = np.array([[0.1, 0.6, 0.1, 0.1, 0.1], [0.7, 0.1, 0.1, 0.05, 0.05], [0.0, 0.0, 0.9, 0.1, 0.0]])
    pd.DataFrame({"id": ["a", "b", "c"], "prediction": [1.0, 0.0, 2.0], "label": [1.0, 4.0, 3.0],
                  **{f"p{k}": probs[:, k] for k in range(5)}}).to_csv(pred / "sst-dev.csv", index=False)
    pd.DataFrame({"id": ["a", "b", "c"], "sentence": ["good", "awful | bad", "fine"], "label": [1, 4, 3]}).to_csv(
        prep / "sst" / "dev.csv", index=False)
    pd.DataFrame({"id": ["q", "r", "s", "t"], "prediction": [1.0, 0.0, 1.0, 0.0], "label": [0.0, 1.0, 1.0, 0.0],
                  "probability": [0.9, 0.4, 0.8, 0.1]}).to_csv(pred / "quora-dev.csv", index=False)
    pd.DataFrame({"id": ["q", "r", "s", "t"], "sentence1": list("wxyz"), "sentence2": list("WXYZ"),
                  "label": [0, 1, 1, 0]}).to_csv(prep / "quora" / "dev.csv", index=False)
    return pred, prep


def test_the_worst_errors_rank_wrong_predictions_by_how_sure_the_model_was(tmp_path):
    pred, prep = _files(tmp_path)
    sst = errors.dev_rows(pred, prep, "sst")
    assert errors.worst("sst", sst)["id"].tolist() == ["b", "c"]  # p(gold) 0.05 then 0.1; a is right
    assert errors.error_size("sst", sst).round(3).tolist() == [0.4, 0.95, 0.9]
    quora = errors.dev_rows(pred, prep, "quora")
    assert errors.worst("quora", quora)["id"].tolist() == ["q", "r"]  # |0.9 - 0| then |0.4 - 1|


def test_the_section_shows_each_figure_and_quotes_table_cells(tmp_path):
    pred, prep = _files(tmp_path)
    rows = {t: errors.dev_rows(pred, prep, t) for t in ("sst", "quora")}
    figures = {t: errors.FIGURES[t](rows[t], tmp_path / f"{t}.png").name for t in rows}
    text = errors.errors_section(rows, figures)
    assert "![sst dev errors](sst.png)" in text and "| awful \\| bad | 4 | 0 | 0.050 |" in text
    assert "| w | W | 0 | 0.900 |" in text
    assert all((tmp_path / f"{t}.png").read_bytes()[:4] == b"\x89PNG" for t in rows)
    assert errors.placeholder_figure("sts", tmp_path / "sts.png").read_bytes()[:4] == b"\x89PNG"
