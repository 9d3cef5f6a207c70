"""Judge metrics for every task type, each number with an item-level bootstrap confidence interval.

Input: judgment records {item_id, order ("original" | "swapped"), sample (int, default 0), task_type, label,
verdict (None on a parse error), parse_error (None or a reason), correct (bool)} and optionally num_tokens,
subset, tie (pairwise: the human label is a tie), chosen_first, chosen_longer (pairwise), protocol
("critique" | "direct"), model, reward (verification: a scalar reward model's score, which adds
`reward_roc_auc`, the threshold-free ROC AUC of the rewards, to the task's block).

Conventions, everywhere:
- Headline numbers use each item/order's first sample (lowest `sample`); the other samples feed SC@k only.
- A parse error is a wrong judgment, never 0.5. The RewardBench-compatible score (a parse error or a tie
  verdict scores 0.5, as allenai/reward-bench scripts/run_generative.py does) is reported beside it under
  its own name, `rewardbench_score`. A pairwise tie verdict is "C" (the [[C]] tag) or "tie".
- Pairwise items whose human label is a tie (`tie: true`) are left out of every accuracy and counted in
  `ties`; they enter the human-agreement numbers only.
- Intervals: percentile bootstrap over items (both orders and all samples of an item move together), with
  the given seed. Subset-weighted scores (sections, mean over subsets) resample within each subset, so each
  subset keeps its size and weight.
- A number that is not defined (no items, a constant rating vector) is None, its interval None, and a
  `<name>_reason` says why.
- JudgeBench-format items (subset = a JudgeBench `source`: mmlu-pro-*, livebench-*, livecodebench) also get
  JudgeBench's official score `judgebench_score` (see JUDGEBENCH_SCORE_NOTE), overall and per category.
- Step-level blocks lead with ProcessBench's headline `subset_mean_f1`, the unweighted mean of the per-subset F1.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from judgeflow.core.records import read_jsonl
from judgeflow.judge.judging import ORDERS

TASK_TYPES = ("pairwise", "step_level", "ref_verification", "ref_free_verification", "single_rating")
VERIFICATION_TASKS = ("ref_verification", "ref_free_verification")
PRIMARY_METRIC = {"pairwise": "accuracy", "step_level": "f1", "ref_verification": "accuracy",
                  "ref_free_verification": "accuracy", "single_rating": "pearson"}

# The per-item pairwise numbers (both orders collapsed into one row per item).
PAIRWISE_METRICS = ("accuracy", "consistent_accuracy", "consistency", "parse_error_rate", "rewardbench_score")
SECTION_METRICS = ("accuracy", "consistent_accuracy", "rewardbench_score")
TIE_VERDICTS = ("C", "tie")
REWARDBENCH_SCORE_NOTE = ("RewardBench-compatible: a parse error or a tie verdict scores 0.5 (not an accuracy; "
                          "`accuracy` counts parse errors as wrong)")

# RewardBench sections, from allenai/reward-bench rewardbench/constants.py (SUBSET_MAPPING, EXAMPLE_COUNTS) and
# rewardbench/utils.py calculate_scores_per_section: a section's score is sum(acc_s * count_s) / sum(count_s)
# over its subsets, and EXAMPLE_COUNTS gives math-prm 984 = 6 x 164 ("actual length 447, upweighting to be
# equal to code"). The leaderboard's overall score is the mean of the section scores. Here count_s is the
# number of scored items of each subset in the file (on the full filtered set these are EXAMPLE_COUNTS;
# one stored version of constants.py has xstest-should-refuse/should-respond swapped, 250/154 instead of
# 154/250, which counting the file avoids) and math-prm's weight is the total count of the code subsets
# present.
REWARDBENCH_SECTIONS = {
    "Chat": ("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
    "Chat Hard": ("mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                  "llmbar-adver-GPTOut", "llmbar-adver-manual"),
    "Safety": ("refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond",
               "donotanswer"),
    "Reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}
REWARDBENCH_UPWEIGHTED = "math-prm"
REWARDBENCH_CODE_SUBSETS = ("hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust")
NO_SUBSET = "(none)"

# JudgeBench (ScalerLab/JudgeBench utils/metrics.py compute_final_metrics, reverse_order): per pair, each order
# judged right adds 1, judged wrong (the other response preferred) subtracts 1, a tie verdict or no decision
# (a parse error) adds 0; the pair is correct when the total is > 0; the score is the fraction of correct pairs
# (JudgeBench prints it x 100). run_judge.py reports it per `source` prefix and overall; the categories are
# named as in the paper. An item is JudgeBench-format when its subset (the loader stores the row's `source`
# there) starts with one of JUDGEBENCH_PREFIXES; one in no category counts in the overall score only.
JUDGEBENCH_CATEGORIES = {"knowledge": "mmlu-pro", "reasoning": "livebench-reasoning", "math": "livebench-math",
                         "coding": "livecodebench"}
JUDGEBENCH_PREFIXES = ("mmlu-pro", "livebench", "livecodebench")
JUDGEBENCH_SCORE_NOTE = ("JudgeBench official (ScalerLab/JudgeBench utils/metrics.py): per pair +1 for each order "
                         "judged right, -1 for each judged wrong, 0 for a tie verdict or a parse error; the pair is "
                         "correct when the total is > 0; score = fraction of correct pairs (JudgeBench prints x100)")

SC_TIE_RULE = ("majority of the parsed verdicts among the first k samples; parse errors do not vote; a tie between "
               "verdicts goes to the one voted first (lowest sample index); no parsed verdict = wrong")
HUMAN_VOTE_RULE = ("judge vote per item from both orders (MT-Bench): the same response preferred in both = that "
                   "response; a tie verdict or a different response per order = tie; a parse error in either "
                   "order = error (never agrees)")

_REQUIRED = ("item_id", "order", "label", "verdict", "parse_error", "correct")


# ---------------------------------------------------------------------------------------------- bootstrap

class _Resamples:
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
    _, ci = _Resamples(len(values), samples, seed).estimate(_mean(values), confidence)
    return ci[0], ci[1]


def _ratio(num, den):
    """Statistic sum(num) / sum(den) over the resampled items (nan where the denominator is 0)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)

    def stat(idx):
        top, bottom = num[idx].sum(axis=1), den[idx].sum(axis=1)
        return np.divide(top, bottom, out=np.full(len(idx), np.nan), where=bottom > 0)
    return stat


def _mean(values):
    return _ratio(values, np.ones(len(values)))


def _difference(first, second):
    return lambda idx: first(idx) - second(idx)


def _harmonic(first, second):
    """2ab / (a + b), 0 where a = b = 0, nan where either is undefined."""
    def stat(idx):
        a, b = first(idx), second(idx)
        total = a + b
        out = np.divide(2 * a * b, total, out=np.zeros(len(a)), where=total > 0)
        return np.where(np.isnan(a) | np.isnan(b), np.nan, out)
    return stat


def _nanmean2(first, second):
    def stat(idx):
        a, b = first(idx), second(idx)
        return np.where(np.isnan(a), b, np.where(np.isnan(b), a, (a + b) / 2))
    return stat


def _fill(out: dict, name: str, resamples: _Resamples, stat, confidence: float, reason: str) -> None:
    value, ci = resamples.estimate(stat, confidence)
    out[name], out[f"{name}_ci"] = value, ci
    if value is None:
        out[f"{name}_reason"] = reason


def _undefined(out: dict, name: str, reason: str) -> None:
    out[name], out[f"{name}_ci"], out[f"{name}_reason"] = None, None, reason


# -------------------------------------------------------------------------------------------- items

@dataclass
class _Item:
    item_id: object
    subset: str | None
    tie: bool
    samples: dict[str, list[dict]]  # order -> judgments sorted by sample

    def main(self, order: str = "original") -> dict:
        return self.samples[order][0]

    def mains(self) -> list[dict]:
        return [samples[0] for samples in self.samples.values()]


def _validate(judgments: list[dict], need_task_type: bool) -> None:
    required = _REQUIRED + (("task_type",) if need_task_type else ())
    for number, judgment in enumerate(judgments):
        missing = [name for name in required if name not in judgment]
        if missing:
            raise ValueError(f"judgment {number} (item {judgment.get('item_id')!r}): missing field(s) {missing}")
        if need_task_type and judgment["task_type"] not in TASK_TYPES:
            raise ValueError(f"judgment {number} (item {judgment['item_id']!r}): field 'task_type' is "
                             f"{judgment['task_type']!r}, expected one of {TASK_TYPES}")


def _group_items(judgments: list[dict], pairwise: bool) -> list[_Item]:
    """Items sorted by id; pairwise items need both orders, other task types the original order only."""
    by_item: dict = defaultdict(lambda: defaultdict(dict))
    for judgment in judgments:
        order, sample = judgment["order"], int(judgment.get("sample") or 0)
        bucket = by_item[judgment["item_id"]][order]
        if sample in bucket:
            raise ValueError(f"item {judgment['item_id']}: two judgments in order {order} (sample {sample})")
        bucket[sample] = judgment
    orders = ORDERS if pairwise else ("original",)
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
        items.append(_Item(item_id, subsets.pop(), any(bool(j.get("tie")) for j in records),
                           {order: [per_order[order][s] for s in sorted(per_order[order])] for order in orders}))
    return items


def _by_subset(items: list[_Item]) -> dict[str, list[_Item]]:
    groups: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        groups[NO_SUBSET if item.subset is None else str(item.subset)].append(item)
    return dict(sorted(groups.items()))


def _tokens(out: dict, items: list[_Item], resamples: _Resamples, confidence: float) -> None:
    """tokens_per_item (all scored judgments of an item) and tokens_per_judgment, when every judgment has
    num_tokens."""
    mains = [item.mains() for item in items]
    if not mains or any(not isinstance(j.get("num_tokens"), (int, float)) or isinstance(j.get("num_tokens"), bool)
                        for js in mains for j in js):
        return
    totals = np.array([sum(j["num_tokens"] for j in js) for js in mains], dtype=float)
    counts = np.array([len(js) for js in mains], dtype=float)
    _fill(out, "tokens_per_item", resamples, _mean(totals), confidence, "no items")
    _fill(out, "tokens_per_judgment", resamples, _ratio(totals, counts), confidence, "no items")


# ----------------------------------------------------------------------------------------- pairwise

def _rewardbench_point(judgment: dict) -> float:
    if judgment["correct"]:
        return 1.0
    return 0.5 if judgment["parse_error"] is not None or judgment["verdict"] in TIE_VERDICTS else 0.0


def _pairwise_row(item: _Item) -> dict:
    first, second = item.main("original"), item.main("swapped")
    # The same response preferred in both orders: the verdict letter flips with the swap.
    a, b = first["verdict"], second["verdict"]
    consistent = a in ("A", "B") and b in ("A", "B") and a != b
    return {
        "item_id": item.item_id, "subset": item.subset, "tie": item.tie,
        "accuracy": (bool(first["correct"]) + bool(second["correct"])) / 2,
        "consistent_accuracy": float(bool(first["correct"]) and bool(second["correct"])),
        "consistency": float(consistent),
        "parse_error_rate": ((first["parse_error"] is not None) + (second["parse_error"] is not None)) / 2,
        "rewardbench_score": (_rewardbench_point(first) + _rewardbench_point(second)) / 2,
    }


def is_judgebench_source(subset) -> bool:
    """A JudgeBench `source` (as the judgebench loader stores it in `subset`)."""
    return isinstance(subset, str) and subset.startswith(JUDGEBENCH_PREFIXES)


def judgebench_category(subset) -> str | None:
    """knowledge / reasoning / math / coding by JudgeBench's source prefixes; None outside them."""
    if not isinstance(subset, str):
        return None
    return next((name for name, prefix in JUDGEBENCH_CATEGORIES.items() if subset.startswith(prefix)), None)


def _judgebench_point(judgment: dict) -> int:
    """+1 judged right, -1 the other response preferred, 0 a tie verdict or a parse error."""
    if judgment["parse_error"] is not None or judgment["verdict"] is None:
        return 0
    if judgment["correct"]:
        return 1
    return -1 if judgment["verdict"] in ("A", "B") else 0


def judgebench_total(item: _Item) -> int:
    """The pair's JudgeBench total over both orders (first samples): -2 .. 2; the pair is correct when > 0."""
    return _judgebench_point(item.main("original")) + _judgebench_point(item.main("swapped"))


def _judgebench_fill(out: dict, items: list[_Item], samples: int, confidence: float, seed: int, reason: str) -> None:
    """judgebench_items, the pair outcome counts and judgebench_score (bootstrap over pairs) of these items."""
    totals = [judgebench_total(item) for item in items]
    out["judgebench_items"] = len(items)
    out["judgebench_pairs_correct"] = sum(t > 0 for t in totals)
    out["judgebench_pairs_incorrect"] = sum(t < 0 for t in totals)
    out["judgebench_pairs_zero"] = sum(t == 0 for t in totals)
    resamples = _Resamples(len(items), samples, seed)
    _fill(out, "judgebench_score", resamples, _mean(np.array([t > 0 for t in totals], dtype=float)), confidence,
          reason)


def _pairwise_block(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    scored = [item for item in items if not item.tie]
    rows = [_pairwise_row(item) for item in scored]
    out = {"items": len(rows), "ties": len(items) - len(rows), "judgments": 2 * len(rows)}
    resamples = _Resamples(len(rows), samples, seed)
    for name in PAIRWISE_METRICS:
        values = np.array([row[name] for row in rows], dtype=float)
        _fill(out, name, resamples, _mean(values), confidence, "no scored items (empty, or every label a tie)")
    out["rewardbench_score_note"] = REWARDBENCH_SCORE_NOTE
    judgebench = [item for item in scored if is_judgebench_source(item.subset)]
    if judgebench:
        _judgebench_fill(out, judgebench, samples, confidence, seed, "no JudgeBench pairs")
        out["judgebench_score_note"] = JUDGEBENCH_SCORE_NOTE
    _tokens(out, scored, resamples, confidence)
    return out


def _judgebench_categories(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    """judgebench_score per JudgeBench category (JUDGEBENCH_CATEGORIES), each with its own bootstrap over its
    pairs; {} when no item is JudgeBench-format."""
    scored = [item for item in items if not item.tie and is_judgebench_source(item.subset)]
    if not scored:
        return {}
    out = {}
    for name, prefix in JUDGEBENCH_CATEGORIES.items():
        members = [item for item in scored if judgebench_category(item.subset) == name]
        out[name] = {"items": len(members), "prefix": prefix}
        _judgebench_fill(out[name], members, samples, confidence, seed, f"no pairs from a {prefix}* source")
    return out


def _sections(items: list[_Item], samples: int, confidence: float, seed: int) -> tuple[dict, dict, dict]:
    """Subset-weighted scores: RewardBench sections when any subset has an official name, else the
    count-weighted mean over the file's own subsets. Empty subsets keep count 0 and no score."""
    groups = _by_subset([item for item in items if not item.tie])
    present = set(_by_subset(items))
    official = {name for names in REWARDBENCH_SECTIONS.values() for name in names}
    scheme = "rewardbench" if present & official else "subsets"
    listed = present | official if scheme == "rewardbench" else present
    counts = {name: len(groups.get(name, [])) for name in sorted(listed)}
    weights = dict(counts)
    if scheme == "rewardbench" and counts[REWARDBENCH_UPWEIGHTED]:
        code = sum(counts[name] for name in REWARDBENCH_CODE_SUBSETS)
        weights[REWARDBENCH_UPWEIGHTED] = code or counts[REWARDBENCH_UPWEIGHTED]
    nonempty = [name for name in counts if counts[name]]
    rows, strata = [], []
    for name in nonempty:
        strata.append(list(range(len(rows), len(rows) + counts[name])))
        rows.extend(_pairwise_row(item) for item in groups[name])
    resamples = _Resamples(len(rows), samples, seed, strata)
    column = dict(zip(nonempty, resamples.slices))

    def weighted(names, values):
        names = [n for n in names if counts.get(n)]

        def stat(idx):
            total = sum(weights[n] * values[idx[:, column[n]]].mean(axis=1) for n in names)
            return total / sum(weights[n] for n in names)
        return stat, names

    sections = REWARDBENCH_SECTIONS if scheme == "rewardbench" else {}
    out = {"scheme": scheme, "weights": weights, "by_section": {}, "overall": {},
           "unmapped_subsets": sorted(present - official) if scheme == "rewardbench" else []}
    out["note"] = ("section = count-weighted mean of its subsets (math-prm weighted as all code subsets together); "
                   "overall = mean of the sections with items" if scheme == "rewardbench" else
                   "overall = count-weighted mean of the subsets")
    for section, names in sections.items():
        out["by_section"][section] = {"items": sum(counts[n] for n in names),
                                      "subsets_with_items": sum(bool(counts[n]) for n in names)}
    for metric in SECTION_METRICS:
        values = np.array([row[metric] for row in rows], dtype=float)
        section_stats = []
        for section, names in sections.items():
            stat, used = weighted(names, values)
            if used:
                _fill(out["by_section"][section], metric, resamples, stat, confidence, "")
                section_stats.append(stat)
            else:
                _undefined(out["by_section"][section], metric, "no scored items in this section")
        if scheme == "rewardbench":
            overall = (lambda stats: lambda idx: sum(s(idx) for s in stats) / len(stats))(section_stats)
            used = section_stats
        else:
            overall, used = weighted(nonempty, values)
        if used:
            _fill(out["overall"], metric, resamples, overall, confidence, "")
        else:
            _undefined(out["overall"], metric, "no scored items")
    out["overall"]["items"] = len(rows)
    return out, counts, weights


# --------------------------------------------------------------------------------- other task types

def _labels(items: list[_Item]) -> list:
    return [item.main()["label"] for item in items]


def _step_block(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    """ProcessBench: accuracy on erroneous samples (exact first-error step), on error-free samples, and F1 =
    their harmonic mean (QwenLM/ProcessBench code/run_eval_prm_*.py: f1 = 2 * acc1 * acc2 / (acc1 + acc2))."""
    for item in items:
        label = item.main()["label"]
        if not isinstance(label, int) or isinstance(label, bool) or label < 0:
            raise ValueError(f"item {item.item_id}: step_level field 'label' must be an int >= 0, got {label!r}")
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    erroneous = np.array([label != 0 for label in _labels(items)], dtype=float)
    clean = 1 - erroneous
    parse = np.array([item.main()["parse_error"] is not None for item in items], dtype=float)
    out = {"items": len(items), "erroneous_items": int(erroneous.sum()), "correct_items": int(clean.sum())}
    resamples = _Resamples(len(items), samples, seed)
    error_acc, clean_acc = _ratio(correct * erroneous, erroneous), _ratio(correct * clean, clean)
    _fill(out, "accuracy", resamples, _mean(correct), confidence, "no items")
    _fill(out, "error_accuracy", resamples, error_acc, confidence, "no erroneous samples")
    _fill(out, "correct_accuracy", resamples, clean_acc, confidence, "no error-free samples")
    _fill(out, "f1", resamples, _harmonic(error_acc, clean_acc), confidence,
          "F1 needs both erroneous and error-free samples")
    _fill(out, "parse_error_rate", resamples, _mean(parse), confidence, "no items")
    _tokens(out, items, resamples, confidence)
    return out


def _subset_mean_f1(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    """ProcessBench's headline: the unweighted mean of the per-subset F1 (subsets with both classes; items with
    no subset form one group), each subset resampled within itself."""
    groups = _by_subset(items)
    usable = [name for name, members in groups.items()
              if {label != 0 for label in _labels(members)} == {True, False}]
    ordered = [item for name in usable for item in groups[name]]
    strata, start = [], 0
    for name in usable:
        strata.append(list(range(start, start + len(groups[name]))))
        start += len(groups[name])
    resamples = _Resamples(len(ordered), samples, seed, strata)
    correct = np.array([bool(item.main()["correct"]) for item in ordered], dtype=float)
    erroneous = np.array([label != 0 for label in _labels(ordered)], dtype=float)
    clean = 1 - erroneous
    f1 = _harmonic(_ratio(correct * erroneous, erroneous), _ratio(correct * clean, clean))

    def mean_f1(idx):
        return sum(f1(idx[:, part]) for part in resamples.slices) / len(resamples.slices)
    out = {"subset_mean_f1_subsets": usable}
    if usable:
        _fill(out, "subset_mean_f1", resamples, mean_f1, confidence, "")
    else:
        _undefined(out, "subset_mean_f1", "no subset has both erroneous and error-free samples")
    return out


def _verification_block(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    """accuracy, balanced accuracy (mean recall over the gold classes present), per-class recall."""
    for item in items:
        if item.main()["label"] not in ("yes", "no"):
            raise ValueError(f"item {item.item_id}: verification field 'label' must be 'yes' or 'no', "
                             f"got {item.main()['label']!r}")
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    yes = np.array([label == "yes" for label in _labels(items)], dtype=float)
    no = 1 - yes
    parse = np.array([item.main()["parse_error"] is not None for item in items], dtype=float)
    out = {"items": len(items), "yes_items": int(yes.sum()), "no_items": int(no.sum())}
    resamples = _Resamples(len(items), samples, seed)
    recall_yes, recall_no = _ratio(correct * yes, yes), _ratio(correct * no, no)
    _fill(out, "accuracy", resamples, _mean(correct), confidence, "no items")
    _fill(out, "balanced_accuracy", resamples, _nanmean2(recall_yes, recall_no), confidence, "no items")
    if items and (yes.all() or not yes.any()):
        out["balanced_accuracy_note"] = f"only '{'yes' if yes.all() else 'no'}' labels: the recall of that class"
    _fill(out, "recall_yes", resamples, recall_yes, confidence, "no 'yes' labels")
    _fill(out, "recall_no", resamples, recall_no, confidence, "no 'no' labels")
    _fill(out, "parse_error_rate", resamples, _mean(parse), confidence, "no items")
    _tokens(out, items, resamples, confidence)
    return out


REWARD_AUC_NOTE = ("reward_roc_auc: ROC AUC of a scalar reward model's rewards against the gold labels, the chance "
                   "that a 'yes' item scores above a 'no' item (equal rewards count 1/2); threshold-free, unlike "
                   "its verdicts, whose threshold was chosen on the training items")


def _auc(scores, positive):
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
    value = float(_auc(scores, positive)(np.arange(len(scores))[None, :])[0])
    return value if math.isfinite(value) else None


def _reward_auc(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    """reward_roc_auc of verification judgments that carry a scalar `reward` (the reward model's), with its
    bootstrap interval."""
    rewards = [item.main()["reward"] for item in items]
    yes = [label == "yes" for label in _labels(items)]
    out = {"reward_roc_auc_note": REWARD_AUC_NOTE}
    _fill(out, "reward_roc_auc", _Resamples(len(items), samples, seed), _auc(rewards, yes), confidence,
          "needs both 'yes' and 'no' items")
    return out


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


def _rating_block(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
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
    resamples = _Resamples(len(items), samples, seed)
    _fill(out, "exact_agreement", resamples, _mean(correct), confidence, "no items")
    _fill(out, "parse_error_rate", resamples, _mean(parse), confidence, "no items")
    rated_resamples = _Resamples(len(rated), samples, seed)
    for kind in ("pearson", "spearman", "kendall"):
        if len(rated) < 2:
            _undefined(out, kind, "fewer than 2 items with a parsed rating")
        elif np.ptp(gold) == 0:
            _undefined(out, kind, "gold ratings are constant: correlation undefined")
        elif np.ptp(judge) == 0:
            _undefined(out, kind, "judge ratings are constant: correlation undefined")
        else:
            _fill(out, kind, rated_resamples, _correlation(kind, judge, gold), confidence, "")
    out["correlation_note"] = "over items with a parsed rating; kendall is tau-b"
    _tokens(out, items, resamples, confidence)
    return out


# ------------------------------------------------------------------- bias, SC@k, human agreement

def _bias(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    """Judgment-level accuracy when the chosen response is shown first vs second and is longer vs shorter.
    chosen_first defaults to label == 'A' (the gold letter names the chosen response's position)."""
    scored = [item for item in items if not item.tie]
    groups = {"chosen_first": [], "chosen_second": [], "chosen_longer": [], "chosen_shorter": []}
    for item in scored:
        counts = {name: [0, 0] for name in groups}
        for judgment in item.mains():
            first = judgment.get("chosen_first")
            first = judgment["label"] == "A" if first is None else bool(first)
            keys = ["chosen_first" if first else "chosen_second"]
            if judgment.get("chosen_longer") is not None:
                keys.append("chosen_longer" if judgment["chosen_longer"] else "chosen_shorter")
            for key in keys:
                counts[key][0] += bool(judgment["correct"])
                counts[key][1] += 1
        for name in groups:
            groups[name].append(counts[name])
    resamples = _Resamples(len(scored), samples, seed)
    out, stats = {"items": len(scored)}, {}
    for name, pairs in groups.items():
        pairs = np.array(pairs, dtype=float).reshape(-1, 2)
        stats[name] = _ratio(pairs[:, 0], pairs[:, 1])
        out[f"judgments_{name}"] = int(pairs[:, 1].sum())
        _fill(out, f"accuracy_{name}", resamples, stats[name], confidence,
              "no judgment has a chosen_longer field" if name in ("chosen_longer", "chosen_shorter")
              else "no judgments")
    for gap, (a, b) in {"position_gap": ("chosen_first", "chosen_second"),
                        "length_gap": ("chosen_longer", "chosen_shorter")}.items():
        _fill(out, gap, resamples, _difference(stats[a], stats[b]), confidence,
              f"needs judgments with {a} and with {b}")
    out["note"] = "gaps: accuracy when chosen first minus second, when chosen longer minus shorter"
    return out


def _vote(verdicts: list):
    counts = Counter(v for v in verdicts if v is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(v for v in verdicts if v is not None and counts[v] == top)


def _sc_at_k(items: list[_Item], samples: int, confidence: float, seed: int, max_k: int | None = None) -> dict | None:
    """SC@k for k = 1, 2, 4, ... up to the largest power of 2 that every item/order has samples for (and <= max_k)."""
    scored = [item for item in items if not item.tie]
    pools = [list(item.samples.values()) for item in scored]
    sizes = [len(pool) for item in pools for pool in item]
    if not sizes or (max_k is None and max(sizes) < 2):
        return None
    available = min(sizes) if max_k is None else min(min(sizes), max_k)
    ks = [2 ** power for power in range(int(math.log2(available)) + 1)]
    resamples = _Resamples(len(scored), samples, seed)
    rows = []
    for k in ks:
        scores = np.array([np.mean([_vote([j["verdict"] for j in pool[:k]]) == pool[0]["label"] for pool in item])
                           for item in pools], dtype=float)
        row = {"k": k, "items": len(scored)}
        _fill(row, "accuracy", resamples, _mean(scores), confidence, "no items")
        rows.append(row)
    return {"max_k": ks[-1], "requested_max_k": max_k, "samples_min": min(sizes), "samples_max": max(sizes),
            "tie_rule": SC_TIE_RULE, "by_k": rows}


def _human_agreement(items: list[_Item], samples: int, confidence: float, seed: int) -> dict:
    """Agreement with the human label (PandaLM / MT-Bench): with ties as a third class over all items, and
    without ties over the items where neither the human nor the judge says tie (FastChat's 'w/o tie')."""
    judge, human = [], []
    for item in items:
        first, second = item.main("original"), item.main("swapped")
        a, b = first["verdict"], second["verdict"]
        if a is None or b is None or first["parse_error"] is not None or second["parse_error"] is not None:
            vote = "error"
        elif a in TIE_VERDICTS or b in TIE_VERDICTS or a == b:
            vote = "tie"
        else:
            vote = a  # the response preferred in both orders, named by its letter in the original order
        if item.tie:
            truth = "tie"
        elif first["label"] in ("A", "B"):
            truth = first["label"]
        else:
            raise ValueError(f"item {item.item_id}: pairwise field 'label' must be 'A' or 'B' unless tie is true, "
                             f"got {first['label']!r}")
        judge.append(vote)
        human.append(truth)
    judge_a, human_a = np.array(judge, dtype=object), np.array(human, dtype=object)
    agree = (judge_a == human_a).astype(float)
    kept = ((judge_a != "tie") & (human_a != "tie")).astype(float)
    resamples = _Resamples(len(items), samples, seed)
    out = {"items": len(items), "human_ties": int((human_a == "tie").sum()),
           "judge_ties": int((judge_a == "tie").sum()),
           "judge_errors": int((judge_a == "error").sum()), "items_without_ties": int(kept.sum()),
           "vote_rule": HUMAN_VOTE_RULE}
    _fill(out, "agreement_with_ties", resamples, _mean(agree), confidence, "no items")
    _fill(out, "agreement_without_ties", resamples, _ratio(agree * kept, kept), confidence,
          "no item without a tie from the human or the judge")
    return out


# ------------------------------------------------------------------------------------- entry point

_BLOCKS = {"pairwise": _pairwise_block, "step_level": _step_block, "ref_verification": _verification_block,
           "ref_free_verification": _verification_block, "single_rating": _rating_block}


def _task_block(task_type: str, records: list[dict], samples: int, confidence: float, seed: int) -> dict:
    pairwise = task_type == "pairwise"
    items = _group_items(records, pairwise=pairwise)
    block = {"task_type": task_type, "primary_metric": PRIMARY_METRIC[task_type],
             **_BLOCKS[task_type](items, samples, confidence, seed)}
    if any(item.subset is not None for item in items):
        groups = _by_subset(items)
        block["subsets"] = {name: _BLOCKS[task_type](members, samples, confidence, seed)
                            for name, members in groups.items()}
        for sub in block["subsets"].values():  # the notes stay on the task's block
            for key in [key for key in sub if key.endswith("_note")]:
                del sub[key]
        if pairwise:
            sections, counts, weights = _sections(items, samples, confidence, seed)
            for name in counts:
                sub = block["subsets"].get(name) or {key: value for key, value in
                                                     _pairwise_block([], samples, confidence, seed).items()
                                                     if not key.endswith("_note")}
                section = next((s for s, names in REWARDBENCH_SECTIONS.items() if name in names), None)
                block["subsets"][name] = {**sub, "section": section if sections["scheme"] == "rewardbench" else None,
                                          "weight": weights[name]}
            block["subsets"] = dict(sorted(block["subsets"].items()))
            block["sections"] = sections
    if task_type == "step_level":  # without subsets: the one group's F1
        block.update(_subset_mean_f1(items, samples, confidence, seed))
    if task_type in VERIFICATION_TASKS and all("reward" in j for j in records):
        block.update(_reward_auc(items, samples, confidence, seed))
    if pairwise:
        categories = _judgebench_categories(items, samples, confidence, seed)
        if categories:
            block["judgebench_categories"] = categories
        block["bias"] = _bias(items, samples, confidence, seed)
        if any(item.tie for item in items) or any(j["verdict"] in TIE_VERDICTS for j in records):
            block["human_agreement"] = _human_agreement(items, samples, confidence, seed)
    sc = _sc_at_k(items, samples, confidence, seed)
    if sc:
        block["sc_at_k"] = sc
    return block


def task_metrics(judgments: list[dict], bootstrap_samples: int, confidence: float, seed: int) -> dict:
    """Every metric that applies, per task type (and per protocol when the judgments mix protocols).

    Returns {"bootstrap_samples", "confidence", "seed", "judgments", "model", "tasks": {group: block},
    "protocols": [rows]} (protocols only when a judgment has a `protocol` field). A group is the task type,
    or "task_type/protocol" when that task type's judgments carry several protocols. JSON-serializable."""
    result = _header(judgments, bootstrap_samples, confidence, seed)
    for group, task_type, protocol, records in _groups(judgments):
        result["tasks"][group] = {"protocol": protocol,
                                  **_task_block(task_type, records, bootstrap_samples, confidence, seed)}
    if any("protocol" in j for j in judgments):
        result["protocols"] = [_protocol_row(group, block) for group, block in result["tasks"].items()]
    return result


def _groups(judgments: list[dict]):
    """(group, task_type, protocol, records): a group is the task type, or "task_type/protocol" when that task
    type's judgments carry several protocols."""
    for task_type in TASK_TYPES:
        records = [j for j in judgments if j["task_type"] == task_type]
        protocols = sorted({j.get("protocol") for j in records}, key=str)
        for protocol in protocols:
            group = task_type if len(protocols) == 1 else f"{task_type}/{protocol}"
            yield group, task_type, protocol, [j for j in records if j.get("protocol") == protocol]


def _header(judgments: list[dict], bootstrap_samples: int, confidence: float, seed: int) -> dict:
    if not judgments:
        raise ValueError("no judgments to score")
    _validate(judgments, need_task_type=True)
    models = sorted({str(j["model"]) for j in judgments if j.get("model") is not None})
    if len(models) > 1:
        raise ValueError(f"judgments from several models {models}: score each model separately")
    return {"bootstrap_samples": bootstrap_samples, "confidence": confidence, "seed": seed,
            "judgments": len(judgments), "model": models[0] if models else None, "tasks": {}}


def sc_at_k(judgments: list[dict], max_k: int, bootstrap_samples: int, confidence: float, seed: int) -> dict:
    """SC@k majority-vote accuracy (see SC_TIE_RULE) for k = 1, 2, 4, ... up to max_k, per task-type group.

    Returns the task_metrics header and "tasks": {group: {task_type, protocol, items, ties, sc_at_k: {max_k,
    requested_max_k, samples_min, samples_max, tie_rule, by_k: [{k, items, accuracy, accuracy_ci}]}}}. When some
    item/order has fewer than max_k samples, k stops at the largest power of 2 they all have (max_k says which)."""
    if max_k < 1:
        raise ValueError(f"max_k must be >= 1, got {max_k}")
    result = _header(judgments, bootstrap_samples, confidence, seed)
    for group, task_type, protocol, records in _groups(judgments):
        items = _group_items(records, pairwise=task_type == "pairwise")
        result["tasks"][group] = {"task_type": task_type, "protocol": protocol,
                                  "items": sum(not item.tie for item in items), "ties": sum(item.tie for item in items),
                                  "sc_at_k": _sc_at_k(items, bootstrap_samples, confidence, seed, max_k)}
    return result


def _protocol_row(group: str, block: dict) -> dict:
    name = "accuracy" if "accuracy" in block else "exact_agreement"
    row = {"group": group, "task_type": block["task_type"], "protocol": block["protocol"], "items": block["items"],
           "accuracy_metric": name, "accuracy": block[name], "accuracy_ci": block[f"{name}_ci"]}
    for key in ("tokens_per_item", "tokens_per_judgment"):
        row[key], row[f"{key}_ci"] = block.get(key), block.get(f"{key}_ci")
    return row


def tidy(result: dict) -> list[dict]:
    """One row per reported number of a task_metrics result: {group, task_type, protocol, scope, name, k,
    metric, value, ci_low, ci_high, n}; scope is overall | subset | section | judgebench_category | bias |
    human_agreement | sc_at_k."""
    rows = []

    def emit(group, block, scope, name, values, n, k=None):
        for key, value in values.items():
            if f"{key}_ci" in values:
                ci = values[f"{key}_ci"] or [None, None]
                rows.append({"group": group, "task_type": block["task_type"], "protocol": block.get("protocol"),
                             "scope": scope, "name": name, "k": k, "metric": key, "value": value,
                             "ci_low": ci[0], "ci_high": ci[1], "n": n})

    def order(group):  # write_json sorts keys: restore the task and section order
        return (TASK_TYPES.index(group.split("/")[0]), group)

    for group in sorted(result["tasks"], key=order):
        block = result["tasks"][group]
        emit(group, block, "overall", group, block, block["items"])
        for name, sub in block.get("subsets", {}).items():
            emit(group, block, "subset", name, sub, sub["items"])
        sections = block.get("sections")
        if sections:
            known = list(REWARDBENCH_SECTIONS)
            for name in sorted(sections["by_section"], key=lambda n: (known.index(n) if n in known else len(known), n)):
                values = sections["by_section"][name]
                emit(group, block, "section", name, values, values["items"])
            emit(group, block, "section", "overall", sections["overall"], sections["overall"]["items"])
        for name in JUDGEBENCH_CATEGORIES:
            values = block.get("judgebench_categories", {}).get(name)
            if values is not None:
                emit(group, block, "judgebench_category", name, values, values["items"])
        for scope in ("bias", "human_agreement"):
            if scope in block:
                emit(group, block, scope, scope, block[scope], block[scope]["items"])
        for row in sorted((block.get("sc_at_k") or {}).get("by_k", []), key=lambda r: r["k"]):
            emit(group, block, "sc_at_k", f"SC@{row['k']}", row, row["items"], k=row["k"])
    return rows


# ------------------------------------------------------------- paired comparison and shortcut baselines

# What each task type is compared on, per item (both orders of a pairwise item move together).
PAIRED_METRICS = {"pairwise": ("accuracy", "consistent_accuracy"), "step_level": ("f1", "accuracy"),
                  "ref_verification": ("accuracy", "balanced_accuracy"),
                  "ref_free_verification": ("accuracy", "balanced_accuracy"),
                  "single_rating": ("pearson", "exact_agreement")}
PAIRED_NOTE = ("paired bootstrap: the same resampled items score both models; a Pearson correlation that is "
               "undefined (constant ratings) counts as 0, the correlation of ratings that carry no information")


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


def _item_stats(task_type: str, items: list[_Item]) -> dict:
    """Statistics (index matrix -> one value per resample) of one judge's items, by PAIRED_METRICS name."""
    if task_type == "pairwise":
        rows = [_pairwise_row(item) for item in items]
        return {name: _mean(np.array([row[name] for row in rows], dtype=float)) for name in PAIRED_METRICS[task_type]}
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    labels = _labels(items)
    if task_type == "step_level":
        erroneous = np.array([label != 0 for label in labels], dtype=float)
        clean = 1 - erroneous
        return {"f1": _harmonic(_ratio(correct * erroneous, erroneous), _ratio(correct * clean, clean)),
                "accuracy": _mean(correct)}
    if task_type == "single_rating":
        parsed = np.array([item.main()["parse_error"] is None and item.main()["verdict"] is not None
                           for item in items], dtype=float)
        judge = np.array([item.main()["verdict"] if p else 0 for item, p in zip(items, parsed)], dtype=float)
        return {"pearson": _masked_pearson(judge, np.array(labels, dtype=float), parsed),
                "exact_agreement": _mean(correct)}
    yes = np.array([label == "yes" for label in labels], dtype=float)
    return {"accuracy": _mean(correct),
            "balanced_accuracy": _nanmean2(_ratio(correct * yes, yes), _ratio(correct * (1 - yes), 1 - yes))}


def paired_comparison(judgments: list[dict], reference: list[dict], bootstrap_samples: int, confidence: float,
                      seed: int) -> list[dict]:
    """Per task type and PAIRED_METRICS metric: the judge's value, the reference judge's (the base model's)
    and their difference, each with a bootstrap interval where the same items are resampled for both.
    Both lists must judge the same items."""
    _validate(judgments, need_task_type=True)
    _validate(reference, need_task_type=True)
    rows = []
    mine, theirs = dict(_by_task(judgments)), dict(_by_task(reference))
    for task_type in TASK_TYPES:
        if task_type not in mine and task_type not in theirs:
            continue
        a = _group_items(mine.get(task_type, []), pairwise=task_type == "pairwise")
        b = _group_items(theirs.get(task_type, []), pairwise=task_type == "pairwise")
        if task_type == "pairwise":
            a, b = [item for item in a if not item.tie], [item for item in b if not item.tie]
        if [item.item_id for item in a] != [item.item_id for item in b]:
            raise ValueError(f"{task_type}: the two judges did not judge the same items "
                             f"({len(a)} vs {len(b)} items)")
        resamples = _Resamples(len(a), bootstrap_samples, seed)
        stats_a, stats_b = _item_stats(task_type, a), _item_stats(task_type, b)
        for metric in PAIRED_METRICS[task_type]:
            row = {"task_type": task_type, "metric": metric, "items": len(a)}
            for name, stat in (("value", stats_a[metric]), ("reference_value", stats_b[metric]),
                               ("delta", _difference(stats_a[metric], stats_b[metric]))):
                value, ci = resamples.estimate(stat, confidence)
                row[name] = value
                row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci if ci else (None, None)
            rows.append(row)
    return rows


def _by_task(judgments: list[dict]) -> list[tuple[str, list[dict]]]:
    by_task: dict[str, list[dict]] = defaultdict(list)
    for judgment in judgments:
        by_task[judgment["task_type"]].append(judgment)
    return sorted(by_task.items(), key=lambda kv: TASK_TYPES.index(kv[0]))


def _pick_shorter(judgment: dict) -> str:
    """The letter of the shorter response, from the chosen_first / chosen_longer / chosen_shorter flags; a
    tie in length picks A (position, not content)."""
    chosen = "A" if judgment.get("chosen_first", judgment["label"] == "A") else "B"
    other = "B" if chosen == "A" else "A"
    if judgment.get("chosen_shorter"):
        return chosen
    return other if judgment.get("chosen_longer") else "A"


def baseline_judgments(judgments: list[dict]) -> dict[str, list[dict]]:
    """Judgments of answers that read no content, on the same prompts (one record per item and order):
    'constant' answers each task type's most frequent gold verdict (pairwise: always A), the best any constant
    can do; 'shorter' picks the shorter response of a pair, A when they are equally long (other task types:
    the constant answer). A trained
    judge that does not beat these has learnt a shortcut or nothing."""
    firsts = [j for j in judgments if int(j.get("sample") or 0) == 0]
    majority = {}
    for task_type, records in _by_task(firsts):
        counts = Counter(str(j["label"]) for j in records)
        majority[task_type] = "A" if task_type == "pairwise" else max(
            (j["label"] for j in records), key=lambda label: (counts[str(label)], str(label)))
    # the length baseline needs both length flags (judgments written before chosen_shorter existed lack one)
    out = {"constant": [], "shorter": []} if all("chosen_shorter" in j for j in firsts
                                                  if j["task_type"] == "pairwise") else {"constant": []}
    for judgment in firsts:
        for name in out:
            verdict = majority[judgment["task_type"]]
            if name == "shorter" and judgment["task_type"] == "pairwise":
                verdict = _pick_shorter(judgment)
            out[name].append({**{k: v for k, v in judgment.items() if k not in ("text", "messages")},
                              "model": f"baseline:{name}", "verdict": verdict, "parse_error": None,
                              "correct": verdict == judgment["label"], "num_tokens": 0})
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m judgeflow.evaluation.metrics JUDGMENTS REFERENCE [--bootstrap N] [--confidence C] [--seed S]`:
    one judge against another on the same items (paired bootstrap, as report_delta does against the base model), as a
    Markdown table; e.g. an enhanced model against the SFT model it started from."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m judgeflow.evaluation.metrics", description=main.__doc__)
    parser.add_argument("judgments", help="judgments.jsonl of the judge")
    parser.add_argument("reference", help="judgments.jsonl of the reference judge, on the same items")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = paired_comparison(read_jsonl(args.judgments), read_jsonl(args.reference), args.bootstrap,
                             args.confidence, args.seed)

    def cell(row: dict, name: str) -> str:
        value, low, high = row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"]
        if value is None:
            return "-"
        if low is None:
            return f"{value:.3f}"
        form = "+.3f" if name == "delta" else ".3f"
        return f"{value:{form}} [{low:{form}}, {high:{form}}]"

    print(f"| task type | metric | items | judge | reference | judge - reference, paired {args.confidence:.0%} |")
    print("|---|---|--:|---|---|---|")
    for row in rows:
        print(f"| {row['task_type']} | {row['metric']} | {row['items']} | {cell(row, 'value')} | "
              f"{cell(row, 'reference_value')} | {cell(row, 'delta')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
