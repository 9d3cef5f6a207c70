"""Item-level bootstrap: resampled confidence intervals for every judge metric, and the statistics the task
types' metric blocks share (ratios, means, harmonic means, ROC AUC), each a function of an index matrix
(resamples x items) that returns one value per resample.

Judgments are grouped into Items (one per item id, its judgments per order and sample) before scoring.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

NO_SUBSET = "(none)"


class Resamples:
    """One matrix of bootstrap resamples of item indices, shared by every statistic of a block.

    With `strata` (lists of item indices) items are resampled within each stratum; the columns of every
    resample are then grouped by stratum in the given order (`slices`)."""

    def __init__(self, n: int, samples: int, seed: int, strata: list[list[int]] | None = None):
        if samples < 1:
            raise ValueError(f"bootstrap_samples must be >= 1, got {samples}")
        rng = np.random.default_rng(seed)
        if strata is None:
            groups = [np.arange(n)] if n else []
        else:
            groups = [np.asarray(s, dtype=np.int64) for s in strata if len(s)]
        if groups:
            self.identity = np.concatenate(groups)[None, :]
            self.index = np.concatenate([g[rng.integers(0, len(g), size=(samples, len(g)))] for g in groups], axis=1)
        else:
            self.identity = np.zeros((1, 0), dtype=np.int64)
            self.index = np.zeros((samples, 0), dtype=np.int64)
        bounds = np.cumsum([0] + [len(g) for g in groups])
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def estimate(self, stat, confidence: float) -> tuple[float | None, list[float] | None]:
        """stat maps an index matrix (resamples x items) to one value per row (nan where undefined)."""
        value = float(np.asarray(stat(self.identity), dtype=float)[0])
        if not math.isfinite(value):
            return None, None
        chunk = max(1, 4_000_000 // max(1, self.index.shape[1]))
        draws = np.concatenate([np.asarray(stat(self.index[i:i + chunk]), dtype=float)
                                for i in range(0, len(self.index), chunk)])
        draws = draws[np.isfinite(draws)]
        if not draws.size:
            return value, None
        tail = (1 - confidence) / 2
        return value, [float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))]


def bootstrap_ci(values: np.ndarray, samples: int, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile interval of the mean under resampling items with replacement."""
    _, ci = Resamples(len(values), samples, seed).estimate(mean_stat(values), confidence)
    return ci[0], ci[1]


def ratio_stat(num, den):
    """Statistic sum(num) / sum(den) over the resampled items (nan where the denominator is 0)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)

    def stat(idx):
        top, bottom = num[idx].sum(axis=1), den[idx].sum(axis=1)
        return np.divide(top, bottom, out=np.full(len(idx), np.nan), where=bottom > 0)
    return stat


def mean_stat(values):
    return ratio_stat(values, np.ones(len(values)))


def difference_stat(first, second):
    return lambda idx: first(idx) - second(idx)


def harmonic_stat(first, second):
    """2ab / (a + b), 0 where a = b = 0, nan where either is undefined."""
    def stat(idx):
        a, b = first(idx), second(idx)
        total = a + b
        out = np.divide(2 * a * b, total, out=np.zeros(len(a)), where=total > 0)
        return np.where(np.isnan(a) | np.isnan(b), np.nan, out)
    return stat


def mean2_stat(first, second):
    def stat(idx):
        a, b = first(idx), second(idx)
        return np.where(np.isnan(a), b, np.where(np.isnan(b), a, (a + b) / 2))
    return stat


def fill(out: dict, name: str, resamples: Resamples, stat, confidence: float, reason: str) -> None:
    value, ci = resamples.estimate(stat, confidence)
    out[name], out[f"{name}_ci"] = value, ci
    if value is None:
        out[f"{name}_reason"] = reason


def undefined(out: dict, name: str, reason: str) -> None:
    out[name], out[f"{name}_ci"], out[f"{name}_reason"] = None, None, reason


@dataclass
class Item:
    item_id: object
    subset: str | None
    tie: bool
    samples: dict[str, list[dict]]  # order -> judgments sorted by sample

    def main(self, order: str = "original") -> dict:
        return self.samples[order][0]

    def mains(self) -> list[dict]:
        return [samples[0] for samples in self.samples.values()]


def group_items(judgments: list[dict], orders: tuple[str, ...]) -> list[Item]:
    """Items sorted by id, each with judgments in every one of `orders` (its task type's) and no other."""
    by_item: dict = defaultdict(lambda: defaultdict(dict))
    for judgment in judgments:
        order, sample = judgment["order"], int(judgment.get("sample") or 0)
        bucket = by_item[judgment["item_id"]][order]
        if sample in bucket:
            raise ValueError(f"item {judgment['item_id']}: two judgments in order {order} (sample {sample})")
        bucket[sample] = judgment
    items = []
    for item_id in sorted(by_item, key=str):
        per_order = by_item[item_id]
        missing = [order for order in orders if order not in per_order]
        if missing:
            raise ValueError(f"item {item_id}: no judgment in order(s) {missing}")
        unexpected = sorted(order for order in per_order if order not in orders)
        if unexpected:
            raise ValueError(f"item {item_id}: field 'order' is {unexpected}, expected only {list(orders)}")
        records = [j for samples in per_order.values() for j in samples.values()]
        subsets = {j.get("subset") for j in records}
        if len(subsets) > 1:
            raise ValueError(f"item {item_id}: judgments disagree on field 'subset': {sorted(map(str, subsets))}")
        items.append(Item(item_id, subsets.pop(), any(bool(j.get("tie")) for j in records),
                           {order: [per_order[order][s] for s in sorted(per_order[order])] for order in orders}))
    return items


def by_subset(items: list[Item]) -> dict[str, list[Item]]:
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[NO_SUBSET if item.subset is None else str(item.subset)].append(item)
    return dict(sorted(groups.items()))


def token_stats(out: dict, items: list[Item], resamples: Resamples, confidence: float) -> None:
    """tokens_per_item (all scored judgments of an item) and tokens_per_judgment, when every judgment has
    num_tokens."""
    mains = [item.mains() for item in items]
    if not mains or any(not isinstance(j.get("num_tokens"), (int, float)) or isinstance(j.get("num_tokens"), bool)
                        for js in mains for j in js):
        return
    totals = np.array([sum(j["num_tokens"] for j in js) for js in mains], dtype=float)
    counts = np.array([len(js) for js in mains], dtype=float)
    fill(out, "tokens_per_item", resamples, mean_stat(totals), confidence, "no items")
    fill(out, "tokens_per_judgment", resamples, ratio_stat(totals, counts), confidence, "no items")


def gold_labels(items: list[Item]) -> list:
    return [item.main()["label"] for item in items]


def auc_stat(scores, positive):
    """Statistic: ROC AUC of `scores` for the positive class over the resampled items (the Mann-Whitney U over
    n_positive x n_negative, equal scores counting 1/2); nan where a resample lacks either class."""
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(positive, dtype=float)
    _, level = np.unique(scores, return_inverse=True)  # each item's rank among the distinct scores
    width = int(level.max()) + 1 if len(scores) else 0

    def stat(idx):
        rows = len(idx)
        cells = (np.arange(rows)[:, None] * width + level[idx]).ravel()

        def per_level(weights):  # resample x distinct score: the count of one class at that score
            return np.bincount(cells, weights=weights[idx].ravel(), minlength=rows * width).reshape(rows, width)

        pos, neg = per_level(positive), per_level(1 - positive)
        below = np.cumsum(neg, axis=1) - neg
        wins = (pos * (below + neg / 2)).sum(axis=1)
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        return np.divide(wins, pairs, out=np.full(rows, np.nan), where=pairs > 0)
    return stat


def roc_auc(scores, positive) -> float | None:
    """ROC AUC of `scores` for the items where `positive` is true (ties count 1/2); None without both classes."""
    if len(scores) != len(positive):
        raise ValueError(f"{len(scores)} scores but {len(positive)} labels")
    value = float(auc_stat(scores, positive)(np.arange(len(scores))[None, :])[0])
    return value if math.isfinite(value) else None
