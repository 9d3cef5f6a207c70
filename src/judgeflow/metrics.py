"""Pairwise judge metrics with item-level bootstrap confidence intervals."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from judgeflow.judging import ORDERS


def per_item(judgments: list[dict]) -> list[dict]:
    """Collapse the two orders of each benchmark item into item-level scores."""
    by_item = defaultdict(dict)
    for judgment in judgments:
        if judgment["order"] in by_item[judgment["item_id"]]:
            raise ValueError(f"item {judgment['item_id']}: two judgments in order {judgment['order']}")
        by_item[judgment["item_id"]][judgment["order"]] = judgment
    rows = []
    for item_id, pair in sorted(by_item.items()):
        missing = [order for order in ORDERS if order not in pair]
        if missing:
            raise ValueError(f"item {item_id}: no judgment in order(s) {missing}")
        first, second = pair["original"], pair["swapped"]
        # The same response preferred in both orders: the verdict letter flips with the swap.
        consistent = (first["verdict"] is not None and second["verdict"] is not None
                      and first["verdict"] != second["verdict"])
        rows.append({
            "item_id": item_id,
            "accuracy": (first["correct"] + second["correct"]) / 2,
            "consistent_accuracy": float(first["correct"] and second["correct"]),
            "consistency": float(consistent),
            "parse_error_rate": ((first["parse_error"] is not None) + (second["parse_error"] is not None)) / 2,
        })
    return rows


METRICS = ("accuracy", "consistent_accuracy", "consistency", "parse_error_rate")


def bootstrap_ci(values: np.ndarray, samples: int, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile interval of the mean under resampling items with replacement."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def pairwise_metrics(judgments: list[dict], bootstrap_samples: int, confidence: float, seed: int) -> dict:
    """accuracy (every judgment, parse errors count as wrong), consistent_accuracy (correct in both orders),
    consistency (same response preferred in both orders), parse_error_rate; each with a bootstrap CI."""
    items = per_item(judgments)
    if not items:
        raise ValueError("no judgments to score")
    result = {"items": len(items), "judgments": len(judgments), "confidence": confidence,
              "bootstrap_samples": bootstrap_samples}
    for offset, name in enumerate(METRICS):
        values = np.array([row[name] for row in items], dtype=float)
        low, high = bootstrap_ci(values, bootstrap_samples, confidence, seed + offset)
        result[name] = float(values.mean())
        result[f"{name}_ci"] = [low, high]
    return result
