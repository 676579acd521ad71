"""What no fine-tuning gives: the checkpoint's frozen, masked-mean sentence embeddings used the way
sentence-transformers uses them, and the majority class.

SST: logistic regression on the embeddings, its regularisation chosen by cross-validation on train only. STS:
2.5 (cos + 1). Quora: cos(u, v) above the threshold that maximises train accuracy. Nothing is fitted on dev or test.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from mtbert.config.evaluate import ReferenceConfig
from mtbert.data.batching import TaskData, collate, sequential_batches
from mtbert.eval import predict as P
from mtbert.model.bert import BertModel
from mtbert.model.pooling import POOLINGS


@torch.no_grad()
def embed(encoder: BertModel, data: TaskData, batch_size: int, pad_id: int) -> np.ndarray:
    """Masked-mean embeddings in row order: (N, H) for single sentences, (N, 2, H) for siamese pairs."""
    encoder.eval()
    rows = len(data)
    out = None
    for index in sequential_batches(data.lengths(), batch_size):
        batch = collate(data, index, pad_id)
        hidden, pooled = encoder(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        z = POOLINGS["mean"](hidden, pooled, batch["attention_mask"]).float().numpy()
        if data.b is not None:
            z = np.stack(np.split(z, 2), axis=1)  # collate stacks the a's then the b's
        if out is None:
            out = np.zeros((rows, *z.shape[1:]), dtype=np.float32)
        out[index] = z
    return out


def cosine(pairs: np.ndarray) -> np.ndarray:
    u, v = pairs[:, 0], pairs[:, 1]
    return (u * v).sum(1) / np.maximum(np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1), 1e-12)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The cut between sorted scores that maximises accuracy of `score > cut` (ties: the lowest such cut)."""
    order = np.sort(np.unique(scores))
    cuts = np.concatenate([[order[0] - 1.0], (order[:-1] + order[1:]) / 2])
    accuracy = [np.mean((scores > c) == labels) for c in cuts]
    return float(cuts[int(np.argmax(accuracy))])


def sst_classifier(x: np.ndarray, y: np.ndarray, cfg: ReferenceConfig) -> LogisticRegressionCV:
    folds = StratifiedKFold(cfg.cv_folds, shuffle=True, random_state=cfg.seed)
    return LogisticRegressionCV(Cs=cfg.Cs, cv=folds, scoring="accuracy", l1_ratios=(0.0,), max_iter=2000,
                                use_legacy_attributes=False).fit(x, y)


def majority(train: dict[str, TaskData], splits: dict[str, dict[str, TaskData]]) -> dict[str, dict[str, float]]:
    """Accuracy of always predicting the most frequent training class (SST, Quora); STS has no majority class."""
    out = {}
    for split, tasks in splits.items():
        scores = {}
        for task in ("sst", "quora"):
            if task in train and task in tasks:
                values, counts = np.unique(train[task].labels[~np.isnan(train[task].labels)], return_counts=True)
                scores[task] = P.score(task, np.full(len(tasks[task]), values[np.argmax(counts)]), tasks[task].labels)
        out[split] = P.summary(scores)
    return out


def no_finetuning(encoder: BertModel, train: dict[str, TaskData], splits: dict[str, dict[str, TaskData]],
                  pad_id: int, cfg: ReferenceConfig) -> tuple[dict[str, dict[str, float]], dict]:
    """Dev/test metrics of the frozen checkpoint, and what was chosen on train (C, threshold, train accuracy)."""
    chosen: dict = {}
    predictors = {}
    if "sst" in train:
        clf = sst_classifier(embed(encoder, train["sst"], cfg.batch_size, pad_id), train["sst"].labels.astype(int), cfg)
        chosen["sst_C"] = float(clf.C_)
        predictors["sst"] = lambda d: clf.predict(embed(encoder, d, cfg.batch_size, pad_id))
    if "quora" in train:
        cut = best_threshold(cosine(embed(encoder, train["quora"], cfg.batch_size, pad_id)), train["quora"].labels)
        chosen["quora_threshold"] = cut
        predictors["quora"] = lambda d: (cosine(embed(encoder, d, cfg.batch_size, pad_id)) > cut).astype(int)
    if "sts" in train:
        predictors["sts"] = lambda d: 2.5 * (cosine(embed(encoder, d, cfg.batch_size, pad_id)) + 1.0)
    metrics = {split: P.summary({t: P.score(t, predictors[t](d), d.labels) for t, d in tasks.items() if t in predictors})
               for split, tasks in splits.items()}
    return metrics, chosen
