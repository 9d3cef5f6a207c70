"""Single rating: a response scored on the item's integer scale [min, max] against a rubric.

Verdicts [[n]], n an integer within the scale. Metrics: Pearson, Spearman and Kendall tau-b between the judge's
and the gold ratings, exact agreement.
"""

from __future__ import annotations

import numpy as np

from judgeflow.evaluation.bootstrap import Item, Resamples, fill, gold_labels, mean_stat, token_stats, undefined
from judgeflow.tasks.base import INTEGER_TOKEN, TaskType, item_base, item_field, register, single_order

RATING_SCALE = [1, 5]
_RATING_RUBRIC = ("Correctness: 5 = fully correct; 1 = wrong. For code, the score follows the share of hidden "
                  "unit tests the answer passes.")
_NO_RUBRIC = {"en": "(No rubric given: judge the response's correctness, helpfulness and clarity.)",
              "zh": "（未提供评分细则：请根据回答的正确性、有用性和清晰度评分。）"}


def _rating(candidate: dict) -> int:
    """Gold score on the 1-5 correctness rubric: code by the share of hidden tests passed, else 5 or 1."""
    total = candidate.get("tests_total") or 0
    if total:
        return 1 + round(4 * candidate.get("tests_passed", 0) / total)
    return 5 if candidate["correct"] else 1


def _constant_rows(x):
    return np.ptp(x, axis=1) == 0


def _pearson_rows(x, y):
    xc, yc = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc ** 2).sum(axis=1) * (yc ** 2).sum(axis=1))
    r = np.divide((xc * yc).sum(axis=1), den, out=np.full(len(x), np.nan), where=den > 0)
    return np.where(_constant_rows(x) | _constant_rows(y), np.nan, np.clip(r, -1, 1))


def _correlation(kind: str, judge: np.ndarray, gold: np.ndarray):
    from scipy import stats

    def stat(idx):
        x, y = judge[idx], gold[idx]
        if kind == "pearson":
            return _pearson_rows(x, y)
        if kind == "spearman":
            r = _pearson_rows(stats.rankdata(x, axis=1), stats.rankdata(y, axis=1))
            return np.where(_constant_rows(x) | _constant_rows(y), np.nan, r)
        return np.array([np.nan if np.ptp(a) == 0 or np.ptp(b) == 0 else stats.kendalltau(a, b, variant="b").statistic
                         for a, b in zip(x, y)], dtype=float)
    return stat


def _rating_block(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """Pearson, Spearman, Kendall tau-b between the judge's and the gold ratings over the items with a parsed
    rating (intervals resample those items), exact agreement over all items (parse errors disagree)."""
    for item in items:
        label = item.main()["label"]
        if not isinstance(label, (int, float)) or isinstance(label, bool):
            raise ValueError(f"item {item.item_id}: single_rating field 'label' must be a number, got {label!r}")
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    parse = np.array([item.main()["parse_error"] is not None for item in items], dtype=float)
    rated = [item for item in items if item.main()["verdict"] is not None and item.main()["parse_error"] is None]
    judge = np.array([item.main()["verdict"] for item in rated], dtype=float)
    gold = np.array([item.main()["label"] for item in rated], dtype=float)
    out = {"items": len(items), "rated_items": len(rated)}
    resamples = Resamples(len(items), samples, seed)
    fill(out, "exact_agreement", resamples, mean_stat(correct), confidence, "no items")
    fill(out, "parse_error_rate", resamples, mean_stat(parse), confidence, "no items")
    rated_resamples = Resamples(len(rated), samples, seed)
    for kind in ("pearson", "spearman", "kendall"):
        if len(rated) < 2:
            undefined(out, kind, "fewer than 2 items with a parsed rating")
        elif np.ptp(gold) == 0:
            undefined(out, kind, "gold ratings are constant: correlation undefined")
        elif np.ptp(judge) == 0:
            undefined(out, kind, "judge ratings are constant: correlation undefined")
        else:
            fill(out, kind, rated_resamples, _correlation(kind, judge, gold), confidence, "")
    out["correlation_note"] = "over items with a parsed rating; kendall is tau-b"
    token_stats(out, items, resamples, confidence)
    return out


def _masked_pearson(x, y, w):
    """Row-wise Pearson over the entries with w = 1 (nan-free); 0 where either side is constant."""
    def stat(idx):
        xs, ys, ws = x[idx], y[idx], w[idx]
        n = ws.sum(axis=1)
        safe = np.maximum(n, 1)
        mx, my = (xs * ws).sum(axis=1) / safe, (ys * ws).sum(axis=1) / safe
        xc, yc = (xs - mx[:, None]) * ws, (ys - my[:, None]) * ws
        den = np.sqrt((xc ** 2).sum(axis=1) * (yc ** 2).sum(axis=1))
        return np.divide((xc * yc).sum(axis=1), den, out=np.zeros(len(idx)), where=den > 1e-12)
    return stat


def _render(item: dict, order: str, template, seed: int) -> tuple[dict, int, dict]:
    single_order(item, order, "single_rating")
    question = item_field(item, "question", str)
    scale = item_field(item, "scale", (list, tuple))
    if len(scale) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale) \
            or scale[0] >= scale[1]:
        raise ValueError(f"item {item.get('id')!r}: field 'scale' must be [min, max] integers with min < max, got "
                         f"{scale!r}")
    label = item_field(item, "label", int)
    if not scale[0] <= label <= scale[1]:
        raise ValueError(f"item {item.get('id')!r}: field 'label' {label} is outside the scale {list(scale)}")
    rubric = item_field(item, "rubric", str).strip() or _NO_RUBRIC[template.language]
    return ({"question": question, "response": item_field(item, "response", str), "rubric": rubric,
             "min": scale[0], "max": scale[1]}, label, {"scale": [scale[0], scale[1]]})


def _check_args(verdict_args: dict) -> None:
    scale = verdict_args.get("scale")
    if scale is None or len(scale) != 2 or scale[0] > scale[1]:
        raise ValueError(f"single_rating needs scale=[min, max] with min <= max, got {scale!r}")


def _read_tag(token: str, verdict_args: dict) -> tuple[int | None, str | None]:
    if not INTEGER_TOKEN.fullmatch(token):
        return None, "unknown_tag"
    value, scale = int(token), verdict_args["scale"]
    return (value, None) if scale[0] <= value <= scale[1] else (None, "out_of_range")


def _build(record: dict, candidates: list[dict], slips: list[dict], rng) -> dict | str:
    """One response, rated on the 1-5 correctness rubric (code: by the share of hidden tests passed)."""
    if not candidates:
        return "no_response"
    picked = rng.choice(candidates)
    return {**item_base(record, "single_rating"), "response": picked["text"], "rubric": _RATING_RUBRIC,
            "scale": list(RATING_SCALE), "label": _rating(picked), "response_origin": picked["generator"]}


def _item_stats(items: list[Item]) -> dict:
    parsed = np.array([item.main()["parse_error"] is None and item.main()["verdict"] is not None
                       for item in items], dtype=float)
    judge = np.array([item.main()["verdict"] if p else 0 for item, p in zip(items, parsed)], dtype=float)
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    return {"pearson": _masked_pearson(judge, np.array(gold_labels(items), dtype=float), parsed),
            "exact_agreement": mean_stat(correct)}


SINGLE_RATING = register(TaskType(
    name="single_rating",
    description="a score on the item's scale: [[n]], min <= n <= max",
    fields=("question", "response", "rubric", "min", "max"),
    render=_render,
    read_tag=_read_tag,
    check_args=_check_args,
    build=_build,
    position=40,
    build_rank=30,
    metric_block=_rating_block,
    item_stats=_item_stats,
    primary_metric="pearson",
    paired_metrics=("pearson", "exact_agreement"),
    table_metrics=("pearson", "spearman", "kendall", "exact_agreement", "parse_error_rate"),
    table_title="Single rating",
    tiny_fields=lambda ctx: {"response": ctx["response"], "rubric": "", "scale": list(RATING_SCALE), "label": 1},
    random_verdict=lambda rng, ctx: rng.randint(*RATING_SCALE),
))
